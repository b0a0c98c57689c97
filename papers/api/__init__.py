"""The JSON API at /api/v1 (django-ninja): the same papers, lists and search as the browser."""
