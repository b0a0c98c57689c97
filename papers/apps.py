from django.apps import AppConfig


class PapersConfig(AppConfig):
    name = "papers"
    verbose_name = "Papers"

    def ready(self) -> None:
        from papers.enrichment import tasks
        from papers.signals import papers_changed

        papers_changed.connect(tasks.queue_enrichment, dispatch_uid="papers.queue_enrichment")
