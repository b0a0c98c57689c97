import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "papers.settings")
application = get_wsgi_application()

from search import hybrid  # noqa: E402 - needs the app set up

# Load the sentence encoder in the background (seconds), not in the first hybrid search.
threading.Thread(target=hybrid.warm_up, name="warm-up", daemon=True).start()
