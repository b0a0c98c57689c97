from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "papers.library"
    label = "library"
    verbose_name = "Readers' libraries"
