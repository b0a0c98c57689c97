from django.urls import include, path, re_path

from papers.library import views

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/password_reset/", views.password_reset, name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("reading-view", views.reading_view, name="reading_view"),
    re_path(
        r"^paper/(?P<arxiv_id>[\w.\-]+(?:/\d+)?(?:v\d+)?)/pdf$", views.open_pdf, name="open_pdf"
    ),
    re_path(
        r"^paper/(?P<arxiv_id>[\w.\-]+(?:/\d+)?(?:v\d+)?)/mark/(?P<kind>\w+)$",
        views.toggle_mark,
        name="toggle_mark",
    ),
    path("library", views.library, name="library"),
    path("for-you", views.for_you, name="for_you"),
    path("library/export.bib", views.library_bibtex, name="library_bibtex"),
    path("library/export.json", views.library_json, name="library_json"),
    path("library/searches", views.saved_searches, name="saved_searches"),
    path(
        "library/searches/<int:pk>/rename",
        views.rename_saved_search,
        name="rename_saved_search",
    ),
    path(
        "library/searches/<int:pk>/delete",
        views.delete_saved_search,
        name="delete_saved_search",
    ),
    path("keywords", views.keyword_preferences, name="keywords"),
    path("account", views.account, name="account"),
]
