from django.contrib import admin
from django.urls import include, path, re_path

from papers import views
from papers.api import arxiv_compat
from papers.api.endpoints import api
from papers.feeds import CategoryFeed, SavedSearchFeed

urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search_page, name="search"),
    # Feed readers cannot log in: the saved search's unguessable token is the credential.
    path("search/feed/<str:token>", SavedSearchFeed(), name="saved_search_feed"),
    path("arxiv/<str:spec>", views.category_list, name="category_list"),
    # papers.cool's form of an old-style id: /arxiv/hep-th/9901001
    re_path(r"^arxiv/(?P<spec>[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)$", views.category_list),
    path("arxiv/<str:spec>/feed", CategoryFeed(), name="category_feed"),
    # Old-style ids contain a slash (hep-th/9901001); arXiv:2605.28495 and versioned ids
    # redirect to the plain id.
    re_path(
        r"^paper/(?P<arxiv_id>(?i:arxiv:)?[\w.\-]+(?:/\d+)?(?:v\d+)?)$",
        views.paper_detail,
        name="paper",
    ),
    path("favicon.ico", views.favicon, name="favicon"),
    path("author/<path:key>", views.author_detail, name="author"),
    path("", include("papers.library.urls")),
    path("", include("papers.readers.urls")),
    path("api/v1/", api.urls),
    path("api/query", arxiv_compat.query, name="arxiv_query"),
    path("admin/", admin.site.urls),
]
handler404 = "papers.views.page_not_found"
