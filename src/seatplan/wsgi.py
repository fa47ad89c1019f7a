import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatplan.settings")
application = get_wsgi_application()

# Import every view now rather than on the first request, then take what is loaded (about 90,000
# long-lived objects: modules, classes, the URL and API tables) out of the garbage collector's sight.
# A full collection then walks only what requests made since, a few milliseconds instead of tens,
# which otherwise land in the slowest responses (gc.freeze). Under `gunicorn --preload` the master imports
# this module once and every worker inherits the frozen objects; without it each worker does this itself.
get_resolver().url_patterns  # noqa: B018 - imports the URL configuration and the API
gc.collect()
gc.freeze()
