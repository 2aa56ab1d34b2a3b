"""The large generated catalogue for benchmarks (`manage.py load_demo --items N`, bench/run.py):
the demo plus N pieces over generated shops, inserted in bulk."""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from marketplace.bulk import bulk_add_children, search_index_bulk
from marketplace.models import CustomImage
from marketplace.progress import progress
from products import listing
from products.models import Category, Designer, ItemImage, ItemPage
from vendors.models import ShopIndexPage, ShopPage, Vendor

from .content import COLOURS, CONDITIONS, MATERIALS, PRICES, a_or_an, load_demo

GENERATED_SHOP_PREFIX = "Atelier No."


def generated_piece(
    rng: random.Random, n: int, *, designers: list[Designer], categories: list[Category]
) -> ItemPage:
    """Generated piece number `n`, unsaved, from the catalogue's random draws in their order
    (bench/catalogue.py loads the same pieces into PostgreSQL by COPY)."""
    colour, material = rng.choice(COLOURS), rng.choice(MATERIALS)
    category = rng.choice(categories)
    listed_at = timezone.now() - timedelta(minutes=n)
    return ItemPage(
        title=f"{colour.title()} {material} piece no. {n}",
        slug=f"gen-{n}",
        designer=rng.choice(designers),
        category=category,
        condition=rng.choice(CONDITIONS),
        price=Decimal(rng.choice(PRICES)),
        quantity=0 if rng.random() < 0.05 else 1,  # some sold
        description=f"<p>{a_or_an(colour)} {colour} {material} piece, generated for benchmarks.</p>",
        material=material.title(),
        colour=colour.title(),
        first_published_at=listed_at,
        last_published_at=listed_at,
        listed_at=listed_at,  # bulk creation skips ItemPage.save()
    )


def load_catalogue(*, items: int, shops: int) -> int:
    """Grow the demo into a large generated catalogue (benchmarks): `items` pieces over `shops`
    extra shops, created in bulk. Running it again tops up to the same numbers."""
    load_demo()
    designers = list(Designer.objects.all())
    categories = list(Category.objects.all())
    images = list(CustomImage.objects.exclude(title__endswith="logo")[:120])
    shop_index = ShopIndexPage.objects.get()

    with transaction.atomic():
        existing = Vendor.objects.filter(name__startswith=GENERATED_SHOP_PREFIX).count()
        new_vendors = Vendor.objects.bulk_create(
            Vendor(
                name=f"{GENERATED_SHOP_PREFIX} {n:03d}",
                contact_email=f"shop{n}@atelier.example",
                status=Vendor.Status.ACTIVE,
            )  # fmt: skip
            for n in range(existing + 1, shops + 1)
        )
        if new_vendors:
            new_vendors = list(Vendor.objects.filter(name__in=[v.name for v in new_vendors]))
            bulk_add_children(
                parent=shop_index,
                pages=[
                    ShopPage(
                        title=v.name,
                        slug=slugify(v.name),
                        vendor=v,
                        city="London",
                        intro="A generated shop for the benchmark catalogue.",
                    )  # fmt: skip
                    for v in new_vendors
                ],
            )
    generated_shops = list(
        ShopPage.objects.filter(vendor__name__startswith=GENERATED_SHOP_PREFIX).order_by("pk")
    )
    have = ItemPage.objects.filter(slug__startswith="gen-").count()
    wanted = max(items - have, 0)
    rng = random.Random(items)
    created = 0
    with progress(total=wanted, desc="Generating items") as bar:
        for start in range(have, have + wanted, 2000):
            batch = range(start, min(start + 2000, have + wanted))
            by_shop: dict[int, list[ItemPage]] = {}
            for n in batch:
                shop = generated_shops[n % len(generated_shops)]
                by_shop.setdefault(shop.pk, []).append(
                    generated_piece(rng, n, designers=designers, categories=categories)
                )
            with transaction.atomic():
                pages = []
                for shop in generated_shops:
                    if shop.pk in by_shop:
                        pages += bulk_add_children(parent=shop, pages=by_shop[shop.pk])
                ItemImage.objects.bulk_create(
                    ItemImage(item_id=page.pk, image=images[page.pk % len(images)], sort_order=0)
                    for page in pages
                )
            created += len(pages)
            bar.update(len(pages))
    search_index_bulk(
        ItemPage, ItemPage.objects.filter(slug__startswith="gen-"), desc="Search index"
    )
    listing.rebuild()  # the pages went in without a save: their search rows in one go
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics after a bulk load
    return created
