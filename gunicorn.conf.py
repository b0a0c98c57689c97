"""gunicorn settings, read from the working directory by every gunicorn the app starts."""

# Over-long request lines reach Django, which refuses them with a 414 in the error shape of the
# surface asked (papers.middleware) instead of gunicorn's bare HTML page.
limit_request_line = 0
# Seconds a worker may spend on one request; search engine timeouts are budgeted below it
# (SEARCH_ENGINE_TIMEOUT in papers/settings.py).
timeout = 30
