from django.core.cache import cache

from .models import PolicyPage

FOOTER_CACHE_KEY = "policies:footer"


def policies_for_footer() -> list[dict]:
    """Title and URL of each live policy page, cached: they appear on every page."""
    links = cache.get(FOOTER_CACHE_KEY)
    if links is None:
        links = [
            {"title": page.title, "url": page.url}
            for page in PolicyPage.objects.live().order_by("path").only("title", "url_path", "path")
        ]
        cache.set(FOOTER_CACHE_KEY, links, 300)
    return links
