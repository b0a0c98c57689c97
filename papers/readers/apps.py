from django.apps import AppConfig


class ReadersConfig(AppConfig):
    name = "papers.readers"
    label = "readers"
    verbose_name = "Readers' activity, digests and imports"
