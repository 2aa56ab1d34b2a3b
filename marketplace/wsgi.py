import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.production")

application = get_wsgi_application()

from marketplace.page_cache import PageCacheHits  # noqa: E402  (after Django is set up)

# Page-cache hits answered again before Django's handler (see the class).
application = PageCacheHits(application)
