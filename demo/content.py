"""Demo content for `manage.py load_demo`: fictional shops, designers and items, our own words.

The large generated catalogue for benchmarks (`load_demo --items`) is in `demo.catalogue`.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.images import ImageFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from wagtail.models import Collection
from wagtail.rich_text import RichText

from home.models import HomePage
from home.services import site_ensure_structure
from marketplace.models import CustomImage
from policies.models import PolicyPage, Testimonial, TestimonialIndexPage
from policies.services import editors_grant_page_rights
from products.models import Category, Designer, ItemImage, ItemPage
from vendors.models import ShopIndexPage, ShopPage, Vendor
from vendors.services import vendor_onboard

from . import images

User = get_user_model()


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


SUPERUSER = DemoLogin("Site admin (everything)", "admin", "vitrine-admin-2026")
EDITOR = DemoLogin("Editor (site content)", "editor", "vitrine-editor-2026")

SHOPS = [
    # name, city, address, phone, publish phone, hours, staff login
    (
        "Maison Lune",
        "London",
        "14 Cecil Court",
        "+442079460958",
        True,
        "Tue–Sat 10:00–18:00",
        DemoLogin("Vendor: Maison Lune", "lune", "vitrine-lune-2026"),
    ),
    (
        "The Second Salon",
        "Manchester",
        "3 King Street",
        "",
        False,
        "",
        DemoLogin("Vendor: The Second Salon", "salon", "vitrine-salon-2026"),
    ),
    (
        "Atelier Ferreira",
        "Bath",
        "7 Milsom Place",
        "+441225960412",
        True,
        "Mon–Fri 09:30–17:30",
        None,
    ),
    ("Kobo Vintage", "Edinburgh", "22 Victoria Street", "+441315550177", False, "", None),
    ("Carrow & Finch", "Brighton", "9 Meeting House Lane", "", False, "", None),
    (
        "Gilt Archive",
        "Leeds",
        "1 Thornton's Arcade",
        "+441134960321",
        True,
        "Wed–Sun 11:00–17:00",
        None,
    ),
]
SHOP_INTROS = [
    "Quietly exceptional handbags and jewellery, chosen one at a time.",
    "A salon of second lives: evening wear and accessories with their stories intact.",
    "Watches and leather goods, serviced in our own workshop before they reach you.",
    "Japanese and Scandinavian design, sourced slowly and described honestly.",
    "Shoes, scarves and the odd surprise from two friends with good eyes.",
    "An archive of gold, silver and lacquer: jewellery for keeping.",
]
DESIGNERS = [
    ("Maison Aubert", "Paris leather house known for structured bags with hand-stitched edges."),
    ("Ottavia Ruggeri", "Milanese jeweller whose rings pair old-cut stones with plain gold."),
    ("Kenji Sato Atelier", "Tokyo studio making unlined jackets and knitwear in natural fibres."),
    ("Linnea Holm", "Stockholm designer of minimal watches and small leather goods."),
    ("Ferro & Figli", "Florentine shoemakers, three generations at the same bench."),
    ("Atelier Noor", "Silk scarves printed from hand-painted gouache studies."),
    ("Beaumont", "Tailoring with soft shoulders and a long, easy line."),
    ("Casa Valdés", "Madrid house of evening bags, beaded and embroidered by hand."),
    ("Harriet Quill", "London jeweller working in recycled silver and enamel."),
    ("Studio Okonkwo", "Lagos and London: bold prints and sculptural accessories."),
]
# name, parent, picture shape, nouns
CATEGORIES = [
    ("Bags", None, "bag", ["top-handle bag", "shoulder bag", "tote"]),
    ("Totes", "Bags", "bag", ["tote"]),
    ("Clutches", "Bags", "bag", ["clutch", "evening bag"]),
    ("Watches", None, "watch", ["wristwatch", "dress watch", "chronograph"]),
    ("Jewellery", None, "jewellery", ["ring", "signet ring", "cocktail ring"]),
    ("Rings", "Jewellery", "jewellery", ["ring"]),
    ("Clothing", None, "clothing", ["jacket", "coat", "dress"]),
    ("Shoes", None, "shoes", ["loafers", "ankle boots", "court shoes"]),
    ("Scarves", None, "scarf", ["silk scarf", "shawl"]),
    ("Small leather goods", None, "bag", ["card holder", "wallet"]),
]
COLOURS = [
    "black",
    "cognac",
    "ivory",
    "navy",
    "burgundy",
    "olive",
    "gold",
    "silver",
    "rose",
    "emerald",
]
MATERIALS = [
    "calf leather",
    "lambskin",
    "silk twill",
    "wool crepe",
    "18k gold",
    "sterling silver",
    "suede",
    "cashmere",
]
CONDITIONS = ["new", "pristine", "excellent", "excellent", "very_good", "good"]
PRICES = [
    "245.00",
    "380.00",
    "495.00",
    "650.00",
    "820.00",
    "1150.00",
    "1490.00",
    "2250.00",
    "3400.00",
    "5900.00",
]
SIZES = ["One size", "Small", "Medium", "Large", "EU 38", "EU 41", "IT 42", "36 mm", "Ring N"]


def a_or_an(word: str) -> str:
    return "An" if word[:1].lower() in "aeiou" else "A"


def _image(
    *, title: str, data: bytes, filename: str, collection: Collection, description: str
) -> CustomImage:
    from io import BytesIO

    image = CustomImage(title=title, collection=collection, description=description)
    image.file = ImageFile(BytesIO(data), name=filename)
    image.save()
    return image


def _user(login: DemoLogin, *, superuser: bool = False) -> User:
    user, created = User.objects.get_or_create(
        username=login.username,
        defaults={
            "email": f"{login.username}@vitrine.example",
            "first_name": login.username.title(),
        },
    )
    if created:
        user.set_password(login.password)
        user.is_superuser = user.is_staff = superuser
        user.save()
    return user


def _editor() -> User:
    user = _user(EDITOR)
    group, _ = Group.objects.get_or_create(name="Editors")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    user.groups.add(group)
    for page in [*PolicyPage.objects.all(), *TestimonialIndexPage.objects.all()]:
        editors_grant_page_rights(page=page)
    return user


def _designers() -> list[Designer]:
    root = Collection.get_first_root_node()
    collection = Collection.objects.filter(name="Designers").first() or root.add_child(
        name="Designers"
    )
    designers = []
    for seed, (name, bio) in enumerate(DESIGNERS):
        designer = Designer.objects.filter(slug=slugify(name)).first()
        if designer is None:
            initials = "".join(word[0] for word in name.replace("&", "").split()[:2])
            logo = _image(
                title=f"{name} logo",
                data=images.logo_image(initials=initials, seed=seed),
                filename=f"{slugify(name)}-logo.png",
                collection=collection,
                description=f"{name} monogram",
            )
            designer = Designer.objects.create(name=name, slug=slugify(name), bio=bio, logo=logo)
        designers.append(designer)
    return designers


def _categories() -> list[tuple[Category, str, list[str]]]:
    by_name: dict[str, Category] = {}
    result = []
    for name, parent, shape, nouns in CATEGORIES:
        category, _ = Category.objects.get_or_create(
            slug=slugify(name), defaults={"name": name, "parent": by_name.get(parent)}
        )
        by_name[name] = category
        result.append((category, shape, nouns))
    return result


def _shops(logins: list[DemoLogin]) -> list[ShopPage]:
    shops = []
    for seed, (name, city, address, phone, publish, hours, login) in enumerate(SHOPS):
        vendor = Vendor.objects.filter(name=name).first()
        if vendor is None:
            username = login.username if login else f"staff-{slugify(name)}"
            vendor = vendor_onboard(
                name=name,
                contact_email=f"hello@{slugify(name)}.example",
                staff_email=f"{username}@{slugify(name)}.example",
                staff_username=username,
                staff_password=login.password if login else None,
                requires_moderation=seed == 1,
            )
            shop = vendor.shop
            collection = vendor.collection
            shop.logo = _image(
                title=f"{name} logo",
                data=images.logo_image(
                    initials="".join(w[0] for w in name.replace("&", "").split()[:2]), seed=seed + 3
                ),
                filename=f"{slugify(name)}-logo.png",
                collection=collection,
                description=f"{name} logo",
            )
            shop.intro = SHOP_INTROS[seed]
            shop.story = RichText(
                f"<p>{name} opened in {city} with a simple idea: every piece is checked, "
                "photographed and described by the people who chose it. We answer questions "
                "the same day and pack every order by hand.</p>"
            ).source
            shop.city, shop.address = city, address
            shop.phone_number, shop.phone_orders, shop.phone_hours = phone, publish, hours
            shop.save_revision().publish()
        if login:
            logins.append(login)
        shops.append(vendor.shop)
    return shops


def _items(shops, designers, categories, *, per_shop: int) -> int:
    created = 0
    for shop_index, shop in enumerate(shops):
        collection = shop.vendor.collection
        existing = set(ItemPage.objects.child_of(shop).values_list("slug", flat=True))
        for n in range(per_shop):
            # One generator per item: re-runs draw the same titles whatever was skipped.
            rng = random.Random(shop_index * 1000 + n)
            category, shape, nouns = categories[(shop_index * 3 + n) % len(categories)]
            designer = designers[(shop_index + n * 7) % len(designers)]
            colour = rng.choice(COLOURS)
            material = rng.choice([m for m in MATERIALS if colour not in m])
            title = f"{colour.title()} {material} {rng.choice(nouns)}"
            condition, price = rng.choice(CONDITIONS), Decimal(rng.choice(PRICES))
            size, year = rng.choice(SIZES), rng.randint(1978, 2025)
            slug = slugify(f"{designer.name} {title} {shop_index}{n}")
            if slug in existing:
                continue
            seed = shop_index * 100 + n
            photos = [
                _image(
                    title=title,
                    data=images.demo_image(shape=shape, colour=colour, seed=seed + k),
                    filename=f"{slug}-{k}.jpg",
                    collection=collection,
                    description=f"{title} by {designer.name}",
                )
                for k in range(2 if n % 3 == 0 else 1)
            ]
            item = ItemPage(
                title=title,
                slug=slug,
                designer=designer,
                category=category,
                condition=condition,
                price=price,
                quantity=0 if n == per_shop - 1 else 1,
                description=(
                    f"<p>{a_or_an(colour)} {colour} {material} piece by {designer.name}. "
                    f"{'Unworn, with its original packaging.' if n % 4 == 0 else 'Gently used and cared for; see the photographs for every detail.'}"
                    "</p><p>Checked by the shop before listing. Ships insured within two working days.</p>"
                ),
                size=size,
                material=material.title(),
                colour=colour.title(),
                year=year,
                first_published_at=timezone.now() - timedelta(days=per_shop * shop_index + n),
            )
            for photo in photos:
                item.gallery_images.add(ItemImage(image=photo))
            shop.add_child(instance=item)
            created += 1
    return created


POLICIES = [
    (
        "Privacy policy",
        "privacy",
        "What we collect, why, who sees it, and how you stay in control.",
        [
            ("heading", "Cookies"),
            (
                "paragraph",
                "<p>Our cookies hold no personal data. The session cookie carries a random key; "
                "your cart and saved list live on our server, not in your browser.</p>",
            ),
            ("heading", "Your account"),
            (
                "paragraph",
                "<p>Accounts are protected by a password that we store only as a strong hash. "
                "You can edit your saved addresses at any time, download everything we hold "
                "about you, or delete your account.</p>",
            ),
            ("heading", "Emails"),
            (
                "list",
                [
                    "Order-status emails tell you when a shop has received, shipped or delivered your order.",
                    "Promotional emails are sent only if you opt in, and every one has an unsubscribe link.",
                    "Unsubscribing takes effect at once: no waiting period.",
                ],
            ),
            ("heading", "Who sees your details"),
            (
                "paragraph",
                "<p>A shop sees the name and address of orders it must send, and nothing else. "
                "Our customer service staff see your record only when they need to help you, "
                "and every such view is logged where you can read it.</p>",
            ),
            ("heading", "Payments and phone orders"),
            (
                "paragraph",
                "<p>Card details go straight to our payment provider, Stripe; they never touch "
                "our servers. A shop taking a phone order sends you a secure payment link "
                "instead of asking for your card number.</p>",
            ),
        ],
    ),
    (
        "Security",
        "security",
        "How we protect your account, your payments and the shops that sell here.",
        [
            ("heading", "Accounts"),
            (
                "paragraph",
                "<p>Passwords are hashed with Argon2. Repeated failed logins are slowed down, "
                "and changing your password signs out your other sessions.</p>",
            ),
            ("heading", "Payments"),
            (
                "paragraph",
                "<p>Card entry happens in Stripe's secure field. We never see or store card "
                "numbers.</p>",
            ),
            ("heading", "Reporting a problem"),
            (
                "paragraph",
                "<p>If you think you have found a security issue, write to "
                "security@vitrine.example and we will reply within two working days.</p>",
            ),
        ],
    ),
    (
        "Terms of sale",
        "terms",
        "The agreement between you, the shops and Vitrine when you buy here.",
        [
            ("heading", "Who sells to you"),
            (
                "paragraph",
                "<p>Each item is sold by the independent shop named on its page. Vitrine runs "
                "the marketplace and takes your payment on the shops' behalf.</p>",
            ),
            ("heading", "One-of-a-kind items"),
            (
                "paragraph",
                "<p>Most pieces are unique. An item is held for you for 15 minutes while you "
                "pay; if the payment does not complete it becomes available again.</p>",
            ),
            ("heading", "Returns"),
            (
                "list",
                [
                    "You may return an item within 14 days of delivery.",
                    "Items must come back in the condition they were sent.",
                    "Refunds go back to the card you paid with.",
                ],
            ),
        ],
    ),
]


# A second published version of the privacy policy, so its public history has a diff.
PRIVACY_UPDATE = {
    "note": "Added how testimonials work: your consent, the name shown, and withdrawal.",
    "effective_from": date(2026, 12, 1),
    "blocks": [
        ("heading", "Testimonials"),
        (
            "paragraph",
            "<p>After a delivery we may email you a link to tell other shoppers how it went. "
            "We publish your words only if you tick the consent box, only after an editor has "
            "read them, and only with the name and place you choose. You can withdraw a "
            "testimonial from your account at any time, and deleting your account deletes "
            "it.</p>",
        ),
    ],
    "replace": (
        "Unsubscribing takes effect at once: no waiting period.",
        "Unsubscribing takes effect at once, from the link in any email or from your "
        "account preferences.",
    ),
}


def _blocks(blocks) -> list:
    return [(kind, RichText(value) if kind == "paragraph" else value) for kind, value in blocks]


def _policies(home: HomePage) -> None:
    for title, slug, summary, blocks in POLICIES:
        page = PolicyPage.objects.filter(slug=slug).first()
        if page is None:
            page = PolicyPage(
                title=title,
                slug=slug,
                summary=summary,
                effective_from=date(2026, 11, 1),
                change_note="First published version.",
            )
            page.body = _blocks(blocks)
            home.add_child(instance=page)
            page.save_revision().publish()
        editors_grant_page_rights(page=page)
        if slug == "privacy" and page.changes.count() < 2:
            old, new = PRIVACY_UPDATE["replace"]
            updated = [
                (
                    kind,
                    [new if entry == old else entry for entry in value]
                    if kind == "list"
                    else value,
                )
                for kind, value in blocks
            ]
            page = page.specific.get_latest_revision_as_object()
            page.body = _blocks(updated + PRIVACY_UPDATE["blocks"])
            page.effective_from = PRIVACY_UPDATE["effective_from"]
            page.change_note = PRIVACY_UPDATE["note"]
            page.save_revision().publish()


# quote, name shown, place, shop index (None: about Vitrine), days ago
TESTIMONIALS = [
    (
        "The bag arrived wrapped in tissue with a handwritten note about its history. "
        "It is exactly as the photographs showed, down to the tiny mark on the clasp.",
        "Harriet M.",
        "York",
        0,
        12,
    ),
    (
        "I bought from two shops in one go and paid once. Both parcels came within the week, "
        "each with its own tracking number.",
        "Tomás R.",
        "Glasgow",
        None,
        20,
    ),
    (
        "I rang the shop to ask about the strap length and they measured it while I waited, "
        "then sent me a payment link. No card details over the phone, which I liked.",
        "Priya S.",
        "Leicester",
        2,
        33,
    ),
    (
        "The watch had been serviced before it was listed, and the shop told me exactly what "
        "they had replaced. It keeps better time than my phone.",
        "Jonas K.",
        "Cardiff",
        2,
        47,
    ),
]


def _testimonials(home: HomePage, shops: list[ShopPage]) -> None:
    index = TestimonialIndexPage.objects.first()
    if index is None:
        index = TestimonialIndexPage(
            title="Testimonials",
            slug="testimonials",
            intro="What shoppers tell us about the shops and about buying here. Every "
            "testimonial is read by an editor and published with the writer's consent.",
        )
        home.add_child(instance=index)
        index.save_revision().publish()
    editors_grant_page_rights(page=index)
    if Testimonial.objects.exists():
        return
    today = timezone.localdate()
    for quote, name, place, shop_index, days_ago in TESTIMONIALS:
        shop = shops[shop_index] if shop_index is not None else None
        testimonial = Testimonial.objects.create(
            quote=quote,
            display_name=name,
            location=place,
            vendor=shop.vendor if shop else None,
            date=today - timedelta(days=days_ago),
            live=False,
        )
        testimonial.save_revision().publish()


@transaction.atomic
def load_demo(*, items_per_shop: int = 10) -> list[DemoLogin]:
    """Create the demo site. Running it again adds nothing that is already there."""
    home = site_ensure_structure()
    ShopIndexPage.objects.filter(intro="").update(
        intro="Independent shops, each with its own eye. Every piece is checked before it is listed."
    )
    _policies(home)
    logins = [SUPERUSER, EDITOR]
    _user(SUPERUSER, superuser=True)
    _editor()
    designers = _designers()
    categories = _categories()
    shops = _shops(logins)
    _items(shops, designers, categories, per_shop=items_per_shop)
    _testimonials(home, shops)
    return logins
