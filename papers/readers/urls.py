from django.urls import path

from papers.readers import views

urlpatterns = [
    path("popular", views.popular, name="popular"),
    path("library/import", views.import_library, name="import_library"),
]
