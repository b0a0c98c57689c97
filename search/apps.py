from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from papers.signals import papers_changed, papers_deleted
        from search import receivers

        papers_changed.connect(receivers.queue_indexing, dispatch_uid="search.queue_indexing")
        papers_deleted.connect(receivers.queue_deletion, dispatch_uid="search.queue_deletion")
