from django.urls import path

from papers.readers import views

urlpatterns = [
    path("popular", views.popular, name="popular"),
    path("library/import", views.import_library, name="import_library"),
    path("for-you/mute", views.for_you_mute, name="for_you_mute"),
    path("for-you/reset", views.for_you_reset, name="for_you_reset"),
    path("account/digest", views.digest_settings, name="digest_settings"),
    path("digest/unsubscribe/<str:token>", views.digest_unsubscribe, name="digest_unsubscribe"),
]
