"""Builders shared by the stock tests: a vendor onboarded as the admin does it, an item
published through a revision (as a vendor's first publish), and its stock as stored."""

import re
from decimal import Decimal

from products.factories import CategoryFactory, DesignerFactory
from products.models import ItemPage
from vendors.services import vendor_onboard


def onboard(name, **kwargs):
    slug = re.sub(r"[^a-z]+", "-", name.lower())
    return vendor_onboard(
        name=name, contact_email=f"hello@{slug}.example", staff_email=f"staff@{slug}.example",
        **kwargs,
    )  # fmt: skip


def make_item(shop, title="Kelly 28", *, user=None, quantity=1):
    item = ItemPage(
        title=title,
        slug=re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
        designer=DesignerFactory(),
        category=CategoryFactory(),
        condition="excellent",
        price=Decimal("500.00"),
        quantity=quantity,
        live=False,
    )
    shop.add_child(instance=item)
    item.save_revision(user=user).publish()
    return ItemPage.objects.get(pk=item.pk)


def stock(item) -> int:
    return ItemPage.objects.values_list("quantity", flat=True).get(pk=item.pk)
