from django.db import transaction

from wagtail.models import Page, Site

from products.models import DesignerIndexPage
from vendors.models import ShopIndexPage

from .models import HomePage


@transaction.atomic
def site_ensure_structure(*, hostname: str = "localhost", port: int = 80) -> HomePage:
    """Create the fixed part of the page tree once: home, `/shops/` and `/designers/`.

    Replaces Wagtail's placeholder welcome page, and is safe to run again.
    """
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()
        placeholder = root.get_children().filter(slug="home").first()
        if placeholder is not None and not isinstance(placeholder.specific, HomePage):
            Site.objects.filter(root_page=placeholder).delete()
            placeholder.delete()
            root.refresh_from_db()
        home = root.add_child(
            instance=HomePage(
                title="Vitrine",
                slug="home",
                hero_heading="One-of-a-kind designer pieces, from independent shops",
                hero_text="Pre-owned and new luxury from shops we know, paid for in one checkout.",
            )
        )
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname=hostname, port=port, root_page=home, is_default_site=True, site_name="Vitrine"
        )
    elif site.root_page_id != home.pk:
        site.root_page = home
        site.save()

    if not ShopIndexPage.objects.exists():
        home.add_child(instance=ShopIndexPage(title="Shops", slug="shops"))
    if not DesignerIndexPage.objects.exists():
        home.add_child(instance=DesignerIndexPage(title="Designers", slug="designers"))
    return home
