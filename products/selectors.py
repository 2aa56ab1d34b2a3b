"""Reads of the catalogue. Every function returns querysets/values with a constant query count."""

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, reduce
from operator import or_
from typing import Any, NamedTuple, overload

from django.conf import settings
from django.core.paginator import Page as PaginatorPage
from django.core.paginator import Paginator
from django.db.models import (
    Count,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Length, Substr
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from wagtail.models import Page

from marketplace.models import CustomImage
from marketplace.page_cache import (
    SHOPS,
    memoised,
    memoised_each,
    not_kept,
)
from marketplace.page_mixins import restricted_paths
from marketplace.pictures import attach_pictures, pictures
from marketplace.reads import ReadByIds, loaded
from vendors.cache import shop_items_tag, shop_tag
from vendors.models import ShopPage, shop_takes_orders, with_vendor_status

from .cache import ARRIVALS, designer_items_tag, item_tag
from .models import SOLD_LAST, Category, Designer, ItemImage, ItemPage, ListedItem

STEPLEN = Page.steplen


def with_card_data(items: QuerySet[ItemPage]) -> QuerySet[ItemPage]:
    """Annotate what an item card needs (its cover); `attach_cards` completes it."""
    first_photo = ItemImage.objects.filter(item=OuterRef("pk")).order_by("sort_order", "pk")
    return items.select_related("designer").annotate(
        cover_image_id=Subquery(first_photo.values("image_id")[:1]),
        cover_alt=Subquery(first_photo.values("alt_text")[:1]),
    )


class _Pictures:
    """The pictures of a batch of cards, with their renditions, the first time any of them is
    used: a page whose cards all come from the card cache (home.templatetags.cards) loads
    none. Each picture is kept under its own tag (marketplace.pictures), so a page shown
    again after a sale reads none of them from the database."""

    def __init__(self, image_ids: set[int], read: dict[int, CustomImage] | None = None):
        self.image_ids = image_ids
        self._read = read or {}  # read already, with the page's own pictures (attach_cards)
        self._images: dict[int, CustomImage | None] | None = None

    def get(self, image_id: int | None) -> CustomImage | None:
        if not image_id:
            return None
        if image_id in self._read:
            return self._read[image_id]
        if self._images is None:
            self._images = pictures(self.image_ids - self._read.keys())
        return self._images.get(image_id)


class CoverImages(Sequence[ItemImage]):
    """`item.cover_images`: the card's cover as a list of at most one ItemImage, from its
    batch's pictures when first read."""

    def __init__(self, item: ItemPage, pictures: _Pictures):
        self._item = item
        self._pictures = pictures
        self._covers: list[ItemImage] | None = None

    def _list(self) -> list[ItemImage]:
        if self._covers is None:
            item = self._item
            image = self._pictures.get(getattr(item, "cover_image_id", None))
            self._covers = (
                [ItemImage(item=item, image=image, alt_text=item.cover_alt or "")] if image else []
            )
        return self._covers

    @overload
    def __getitem__(self, index: int) -> ItemImage: ...
    @overload
    def __getitem__(self, index: slice) -> list[ItemImage]: ...
    def __getitem__(self, index: int | slice) -> ItemImage | list[ItemImage]:
        return self._list()[index]

    def __len__(self) -> int:
        return len(self._list())


def attach_cards(
    items: Iterable[ItemPage],
    *,
    shops: Iterable[ShopPage] = (),
    pictures_of: Iterable[tuple[object, str]] = (),
) -> list[ItemPage]:
    """Give each card its shop (attach_shops) and cover picture, read once one is used
    (attach_covers).

    Pass the `shops` the page already has (a shop's own page, search's shop list). Other
    pictures on the page, as (object, image field) pairs such as `(designer, "logo")`, come
    at once (marketplace.pictures.attach_pictures): the page shows them, while the cards it
    has kept need no picture (home.templatetags.cards); on a first view, when they are read
    from the database, the covers are read with them (one query for every picture).
    """
    items = attach_shops(items, known=shops)
    return attach_covers(items, read=attach_pictures(pictures_of, along=cover_ids(items)))


def cover_ids(items: Iterable[ItemPage]) -> set[int]:
    return {item.cover_image_id for item in items if getattr(item, "cover_image_id", None)}


def attach_covers(
    items: list[ItemPage], *, read: dict[int, CustomImage] | None = None
) -> list[ItemPage]:
    """Give each card its cover picture, with its renditions, read for all of `items` the
    first time one is used (those in `read` were read already). A card cache that renders
    only a few of a page's cards gives them covers of their own first, so only their
    pictures are loaded."""
    pictures = _Pictures(cover_ids(items), read)
    for item in items:
        item.cover_images = CoverImages(item, pictures)
    return items


def for_sale_now() -> Q:
    """The rows of pieces a shopper can buy now: in stock and not all held by checkouts in
    progress (ItemPage.is_sold and is_reserved, as a filter)."""
    return Q(quantity__gt=0) & (Q(held_until__isnull=True) | Q(held_until__lte=timezone.now()))


def items_live() -> QuerySet[ItemPage]:
    """Live items a shopper may browse: not under a shop that is unpublished (Wagtail would
    still serve a live child of one) or not taking orders, nor in a view-restricted section.
    The site's listings, search, counts and the read API all start here."""
    return _outside_hidden_sections(ItemPage.objects.live())


def shops_listed() -> QuerySet[ShopPage]:
    """Live shops whose pieces `items_live` lists: taking orders and not private."""
    return _outside_hidden_sections(ShopPage.objects.live())


def search_rows() -> QuerySet[ListedItem]:
    """The search rows (products.listing) of the pieces items_live() gives: a search filters,
    counts and sorts them without a join."""
    return _outside_hidden_sections(ListedItem.objects.all())


def _outside_hidden_sections(pages: QuerySet) -> QuerySet:
    for path in hidden_sections():
        pages = pages.exclude(path__gte=path, path__lt=path + "~")
    return pages


def hidden_sections() -> list[str]:
    """Tree paths whose pieces are listed nowhere: shops not taking orders (unpublished, or
    their vendor suspended or not yet active: the cart's rule too, orders.services) and
    view-restricted pages. Usually none; kept until a shop is published or withdrawn, a vendor
    saved or a restriction changed (marketplace.page_cache)."""

    def compute() -> list[str]:
        paths = {path for path, shop in every_shop().items() if not shop_takes_orders(shop)}
        return sorted(paths | set(restricted_paths()))

    return memoised("hidden-sections", compute, tags=[SHOPS])


def items_latest(*, limit: int) -> list[ItemPage]:
    """The newest pieces for sale. A page showing them depends on which are newest (ARRIVALS)
    and on each piece shown (cards_of), not on the whole catalogue: a sale elsewhere keeps it
    cached.

    Which ones they are is kept until ARRIVALS moves on (a publish, a withdrawal, a piece
    back on sale), or one of them sells: then the next newest takes its place."""

    def newest() -> list[int]:
        for_sale = items_live().filter(quantity__gt=0).order_by("-listed_at", "-page_ptr_id")
        return list(for_sale.values_list("pk", flat=True)[:limit])

    checked: list[tuple[list[int], list[ItemPage]]] = []  # the kept ids and their card rows

    def all_for_sale(ids: list[int]) -> bool:
        rows = _kept_card_rows(ids, for_sale_only=True)
        checked.append((ids, rows))
        return len(rows) == len(ids)

    ids = memoised(f"newest:{limit}", newest, tags=[ARRIVALS, SHOPS], still_good=all_for_sale)
    if checked and checked[0][0] is ids:  # kept: checked, and all still for sale
        return attach_cards(checked[0][1])
    return cards_of(ids, for_sale_only=True)  # computed just now


# What a card shows and is keyed by (home.templatetags.cards), its link and its shop: a page
# row has some thirty columns, a description among them, that no card reads.
CARD_FIELDS = ("title", "url_path", "path", "depth", "live", "price", "quantity", "held_until",
               "designer__name", "designer__slug")  # fmt: skip


def cards_of(ids: Sequence[int], *, for_sale_only: bool = False, **attach: Any) -> list[ItemPage]:
    """The cards of the pieces `ids`, in that order, completed by attach_cards(**attach).

    Each card's row is memoised under its piece's tag (a sale, hold, publish or edit moves it
    on; the `site` tag covers a designer's rename): a page shown again after a change reads
    only the rows of the pieces that changed. Its tag is read before its row, so a change at
    any moment either shows in the row or moves the tag on after it was read (and the page is
    not kept, marketplace.page_cache). A piece gone since its id was read (deleted, or no
    longer for sale with `for_sale_only`) leaves the list short: then nothing of the page is
    kept."""
    found = _kept_card_rows(ids, for_sale_only=for_sale_only)
    if len(found) < len(ids):
        not_kept()
    return attach_cards(found, **attach)


def _kept_card_rows(ids: Sequence[int], *, for_sale_only: bool) -> list[ItemPage]:
    rows = memoised_each(
        "card-row", ids, _card_rows, tags_of=lambda pk: (item_tag(pk),), default=None
    )
    cards = [_card(row) for row in (rows[pk] for pk in ids) if row is not None]
    return [card for card in cards if not for_sale_only or (card.live and card.quantity > 0)]


# A card's row as read and kept: plain values (a kept page instance took ten times as long to
# unpickle), made into a page (`_card`) for each request.
_CARD_COLUMNS = ("pk", "designer_id", *CARD_FIELDS, "cover_image_id", "cover_alt")
_read_card_rows = ReadByIds(
    lambda ids: (
        with_card_data(ItemPage.objects.order_by()).filter(pk__in=ids).values_list(*_CARD_COLUMNS)
    )
)


def _card_rows(ids: list[int]) -> dict[int, tuple]:
    return {row[0]: row for row in _read_card_rows(ids)}


def _card(row: tuple) -> ItemPage:
    """The card's piece, as `only(*CARD_FIELDS)` with its designer and cover would read it."""
    values = dict(zip(_CARD_COLUMNS, row, strict=True))
    pk = values.pop("pk")
    designer = loaded(
        Designer,
        {
            "id": values["designer_id"],
            "name": values.pop("designer__name"),
            "slug": values.pop("designer__slug"),
        },
    )
    item = loaded(ItemPage, {"id": pk, "page_ptr_id": pk, **values})
    item._state.fields_cache["designer"] = designer
    return item


def in_shop(shop: ShopPage) -> Q:
    """Items under `shop`, as a range of tree paths: an index range scan on both databases
    (SQLite's case-insensitive LIKE, which `child_of` uses, cannot use the path index)."""
    return Q(path__gt=shop.path, path__lt=shop.path + "~", depth=shop.depth + 1)


def items_for_shop(*, shop: ShopPage) -> QuerySet[ItemPage]:
    """A shop's items, available first, newest first."""
    return items_live().filter(in_shop(shop)).order_by(SOLD_LAST, "-listed_at", "page_ptr_id")


def items_for_designer(*, designer: Designer) -> QuerySet[ItemPage]:
    """A designer's items in every shop, available first, newest first."""
    return items_live().filter(designer=designer).order_by(SOLD_LAST, "-listed_at", "page_ptr_id")


def attach_shops(items: Iterable[ItemPage], *, known: Iterable[ShopPage] = ()) -> list[ItemPage]:
    """Set `item.shop` on each item from its parent path: shops the caller already has are
    used as they are, the rest come from `every_shop` (their name, URL and phone show on
    cards and in carts)."""
    items = list(items)
    known_shops = {shop.path: shop for shop in known}
    shown = [item.path[:-STEPLEN] for item in items]
    shops = every_shop() if any(path not in known_shops for path in shown) else {}
    for item, path in zip(items, shown, strict=True):
        item.shop = known_shops.get(path) or shops.get(path)
    return items


# What cards, carts, listings and search read of a shop: its name and URL, its phone, its
# card's words and pictures (ids), and whether it takes orders (`vendor_status`).
SHOP_FIELDS = ("title", "slug", "url_path", "path", "depth", "live", "phone_number",
               "phone_orders", "city", "intro", "logo", "banner")  # fmt: skip


def every_shop() -> dict[str, ShopPage]:
    """Every shop by tree path, listed or not, in title order, read in one query after a
    shop or a vendor changes (any change to what it holds moves `shops` or `site` on: the
    shop's publish, its vendor's status) and kept in each worker: which shops are hidden
    (`hidden_sections`) and listed (`shops_listed_kept`, `shop_refs`), and each card's shop,
    all come from it. Its shops are shared by the worker's requests: read them, never change them
    (`_shop_cards` copies those it completes)."""
    return memoised(
        "every-shop",
        lambda: {
            shop.path: shop
            for shop in with_vendor_status(ShopPage.objects.order_by("title").only(*SHOP_FIELDS))
        },
        tags=[SHOPS],
        in_process=True,
    )


def shops_listed_kept() -> tuple[ShopPage, ...]:
    """The shops `shops_listed` gives, by title (live, taking orders, not private), as
    `every_shop` keeps them and shared in the same way: kept apart from it, so that a page
    reading both reads each once (a value read ahead is handed out once, marketplace.cache)."""

    def compute() -> tuple[ShopPage, ...]:
        hidden = hidden_sections()
        return tuple(
            shop
            for shop in every_shop().values()
            if shop.live and not any(shop.path.startswith(path) for path in hidden)
        )

    return memoised("listed-shops", compute, tags=[SHOPS], in_process=True)


@dataclass(frozen=True)
class Kept:
    """How a listing's pages are memoised (paginate): under `name`, until one of `tags`
    moves on (what the listing lists and in which order), for at most `timeout` seconds."""

    name: str
    tags: Sequence[str]
    timeout: int = 3600


class LazyIds:
    """Ids as Paginator reads them: a page's slice is read by `read(slice)` only when first
    used, so a page whose count and ids are kept (Kept) reads none (building a page query
    costs more than drawing a card); `count()` counts them all when the count is not known."""

    def __init__(self, read: Callable[[slice], list[int]], count: Callable[[], int]):
        self._read, self._count = read, count

    def count(self) -> int:
        return self._count()

    def __getitem__(self, index: slice) -> Any:
        # What Paginator keeps as the page's objects: read when first used.
        return SimpleLazyObject(lambda: self._read(index))


def paginate(
    request: HttpRequest,
    listing: Callable[[], QuerySet],
    *,
    shops: Iterable[ShopPage] = (),
    pictures_of: Iterable[tuple[object, str]] = (),
    count: int | None = None,
    kept: Kept | None = None,
) -> PaginatorPage:
    """A page of item cards of the listing `listing()` returns, in its order: only its ids
    are read from it (paginate_ids), and with `kept` only when they are not kept."""
    ids = cache(lambda: listing().values_list("pk", flat=True))
    return paginate_ids(
        request,
        LazyIds(lambda index: list(ids()[index]), lambda: ids().count()),  # type: ignore[arg-type]
        shops=shops,
        pictures_of=pictures_of,
        count=count,
        kept=kept,
    )


def paginate_ids(
    request: HttpRequest,
    ids: Sequence[int] | QuerySet[Any, int],
    *,
    shops: Iterable[ShopPage] = (),
    pictures_of: Iterable[tuple[object, str]] = (),
    count: int | None = None,
    kept: Kept | None = None,
) -> PaginatorPage:
    """A page of item cards from an ordered sequence of item ids (a listing's, a ranking's),
    loading only that page; a bad or out-of-range `?page=` gives the first or last page. A
    `count` the caller already knows saves counting the ids. With `kept`, the count and each
    page's ids are memoised: a page rendered again after a hold, or a sale elsewhere, reads
    neither."""
    paginator = Paginator(ids, settings.VITRINE_ITEMS_PER_PAGE)
    if count is None and kept is not None:
        count = memoised(f"listing:{kept.name}:count", lambda: paginator.count, **_memo(kept))
    if count is not None:
        paginator.count = count  # Paginator.count is a cached_property
    page = paginator.get_page(request.GET.get("page"))
    page_ids = (
        memoised(f"listing:{kept.name}:{page.number}", lambda: list(page.object_list), **_memo(kept))
        if kept is not None
        else list(page.object_list)
    )  # fmt: skip
    # The rows by id alone: the listing's filters (a text match above all) again would only
    # slow the query down, and a change to what it lists moves the listing's own tags on.
    page.object_list = cards_of(page_ids, shops=shops, pictures_of=pictures_of)
    return page


def _memo(kept: Kept) -> dict[str, Any]:
    return {"tags": kept.tags, "timeout": kept.timeout}


def item_detail(*, item: ItemPage, request: HttpRequest) -> dict:
    """The context of an item page: gallery with renditions, designer, category, shop, JSON-LD."""
    rows = _gallery_rows(item, request)
    images = pictures({image_id for image_id, _alt in rows})
    gallery = [
        ItemImage(item=item, image=images[image_id], alt_text=alt)
        for image_id, alt in rows
        if images.get(image_id)
    ]
    # The vendor's status comes with the shop row: only the status, never the vendor's own
    # details, reaches the template. Kept until the shop changes (a vendor's, `site`).
    shop_path = item.path[:-STEPLEN]
    shop = memoised(
        f"item-shop:{shop_path}",
        lambda: with_vendor_status(ShopPage.objects.all()).get(path=shop_path),
        tags=[shop_tag(shop_path)],
    )
    # A shop not taking orders (unpublished, or its vendor suspended) offers neither the cart
    # nor its phone number.
    taking_orders = shop_takes_orders(shop)
    return {
        "gallery": gallery,
        "designer": item.designer,
        "category": item.category,
        "shop": shop,
        "taking_orders": taking_orders,
        "phone_number": shop.published_phone_number if taking_orders else None,
        "json_ld": item_json_ld(
            item=item, shop=shop, gallery=gallery, request=request, taking_orders=taking_orders
        ),
    }


def _gallery_rows(item: ItemPage, request: HttpRequest) -> list[tuple[int, str]]:
    """The item's pictures, in order, with their alt text: (image id, alt text) rows. They
    change only when the piece is published, which moves its tag on: kept under it. A
    preview shows its draft's own, never kept."""
    if getattr(request, "is_preview", False):
        return [
            (photo.image_id, photo.alt_text)
            for photo in item.gallery_images.order_by("sort_order", "pk")
        ]
    return memoised(
        f"gallery:{item.pk}",
        lambda: list(
            ItemImage.objects.filter(item=item)
            .order_by("sort_order", "pk")
            .values_list("image_id", "alt_text")
        ),
        tags=[item_tag(item.pk)],
    )


CONDITION_SCHEMA: dict[str, str] = {ItemPage.Condition.NEW: "https://schema.org/NewCondition"}


def item_json_ld(
    *,
    item: ItemPage,
    shop: ShopPage,
    gallery: list[ItemImage],
    request: HttpRequest,
    taking_orders: bool = True,
) -> dict[str, Any]:
    """schema.org Product data. Never includes the shop's phone number: see the page for that."""
    images = [request.build_absolute_uri(photo.large.url) for photo in gallery[:5]]
    if item.is_sold:
        availability = "https://schema.org/SoldOut"
    elif item.is_reserved:  # held by a checkout in progress: maybe back on sale soon
        availability = "https://schema.org/LimitedAvailability"
    elif taking_orders:
        availability = "https://schema.org/InStock"
    else:  # its shop is not taking orders at the moment
        availability = "https://schema.org/OutOfStock"
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": item.title,
        "url": request.build_absolute_uri(item.get_url(request)),
        "brand": {"@type": "Brand", "name": item.designer.name},
        "itemCondition": CONDITION_SCHEMA.get(item.condition, "https://schema.org/UsedCondition"),
        "offers": {
            "@type": "Offer",
            "price": str(item.price),
            "priceCurrency": settings.VITRINE_CURRENCY,
            "availability": availability,
            "seller": {"@type": "Organization", "name": shop.title},
        },
    }
    if images:
        data["image"] = images
    return data


def designer_counts(designer_ids: Iterable[int] | None = None) -> dict[int, tuple[int, int]]:
    """{designer id: (live pieces, pieces for sale)}, for `/designers/`, a designer's page and
    the home page; every designer's unless `designer_ids` are given.

    Counting every item is the costly part (a third of a second at 100,000 items), so each
    designer's counts are kept until one of its pieces changes (or which shops are listed):
    after a sale only that designer's are counted again, with an index range scan.
    """
    if designer_ids is None:  # every designer's: the names a search reads anyway name them
        designer_ids = list(designer_names())

    def count(ids: list[int]) -> dict[int, tuple[int, int]]:
        return {
            designer_id: (total, available)
            for designer_id, total, available in items_live()
            .filter(designer_id__in=ids)
            .order_by()
            .values_list("designer_id")
            .annotate(total=Count("pk"), available=Count("pk", filter=Q(quantity__gt=0)))
            .values_list("designer_id", "total", "available")
        }

    return memoised_each(
        "designer-counts",
        designer_ids,
        count,
        tags_of=lambda designer_id: [designer_items_tag(designer_id), SHOPS],
        default=(0, 0),
    )


def designer_names() -> dict[int, tuple[str, str]]:
    """{id: (slug, name)} of every designer; kept until a designer changes (`site`)."""
    return memoised(
        "designer-names",
        lambda: {pk: (slug, name) for pk, slug, name in Designer.objects.values_list("pk", "slug", "name")},
    )  # fmt: skip


def category_names() -> dict[int, tuple[str, str, str | None]]:
    """{id: (slug, name, parent's slug)} of every category; kept until one changes (`site`)."""
    return memoised(
        "category-names",
        lambda: {
            pk: (slug, name, parent)
            for pk, slug, name, parent in Category.objects.values_list("pk", "slug", "name", "parent__slug")
        },
    )  # fmt: skip


def designer_by_slug(slug: str) -> Designer:
    """A designer's row, kept until a designer changes (`site`); Http404 for no designer
    (nothing kept: any slug may be asked)."""
    if len(slug) > (Designer._meta.get_field("slug").max_length or 0):  # none: no such key
        raise Http404
    return memoised(f"designer:{slug}", lambda: get_object_or_404(Designer, slug=slug))


def id_by_slug(names: dict[int, tuple]) -> dict[str, int]:
    """{slug: id} of a `designer_names()` or `category_names()`."""
    return {row[0]: pk for pk, row in names.items()}


class ShopRef(NamedTuple):
    """A live shop as search filters and counts by it: unlike hundreds of page objects, cheap
    to build and to keep in the cache (a tuple: read back from it about twice as fast as a
    dataclass)."""

    slug: str
    title: str
    path: str
    depth: int


def shop_refs() -> tuple[ShopRef, ...]:
    """Every shop whose pieces are listed (`shops_listed`), by title; kept until a shop or
    vendor changes, in each worker: every search reads it, and 500 shops read back from the
    cache cost a search a third of a millisecond."""
    return memoised(
        "shop-refs",
        lambda: tuple(
            ShopRef(shop.slug, shop.title, shop.path, shop.depth) for shop in shops_listed_kept()
        ),
        tags=[SHOPS],
        in_process=True,  # shared by the worker's requests: a tuple of tuples, never changed
    )


def live_item_count() -> int:
    return sum(total for total, _ in designer_counts().values())


def designers_listed(*, limit: int) -> list[Designer]:
    """The first designers by name, names only (the home page's list): no counts, so a sale
    does not change the page that shows them. A designer's edit moves on `site`."""
    return memoised(
        f"designers-listed:{limit}",
        lambda: list(Designer.objects.order_by("name").only("name", "slug")[:limit]),
    )


def designers_with_counts() -> list[Designer]:
    """Designers with their logos and the number of pieces for sale each (`/designers/`)."""
    designers = list(
        Designer.objects.order_by("name")
        .select_related("logo")
        .prefetch_related("logo__renditions")
    )
    counts = designer_counts([designer.pk for designer in designers])
    for designer in designers:
        designer.item_count = counts.get(designer.pk, (0, 0))[1]
    return designers


MAX_PRICE = Decimal("99999999.99")
CENT = Decimal("0.01")


def parse_decimal(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0:
        return None
    # Within ItemPage.price (10 digits, 2 places): PostgreSQL refuses a literal like 1e999999.
    return min(amount, MAX_PRICE).quantize(CENT)


def shop_path_expression() -> Substr:
    """SQL for an item's parent (shop) path, used to filter and count by shop."""
    return Substr("path", 1, Length("path") - STEPLEN)


# --- Shops with what they have for sale ---------------------------------------------------------


def _available_counts(shops: list[ShopPage]) -> dict[str, int]:
    """Pieces for sale per shop, in one query (index ranges when only a few shops are asked)."""
    items = ItemPage.objects.live().filter(quantity__gt=0)
    if shops and len(shops) <= 50:
        items = items.filter(reduce(or_, (in_shop(shop) for shop in shops)))
    by_path = dict(
        items.annotate(shop_path=shop_path_expression())
        .order_by()
        .values_list("shop_path")
        .annotate(n=Count("pk"))
        .values_list("shop_path", "n")
    )
    return {shop.path: by_path.get(shop.path, 0) for shop in shops}


def shops_live(
    *,
    limit: int,
    pictures_of: Iterable[tuple[object, str]] = (),
    cards: Sequence[ItemPage] = (),
) -> list[ShopPage]:
    """The first listed shops by title, with their cards' pictures and counts (the home
    page), read with the page's other pictures (`pictures_of`, as attach_cards takes them)
    and the covers of its `cards`: on a first view, one query for every picture."""
    return _shop_cards(list(shops_listed_kept()[:limit]), pictures_of=pictures_of, cards=cards)


def shops_page(request: HttpRequest) -> PaginatorPage:
    """A page of the listed shops (live, of active vendors, not private: shops_listed) by
    title, with their cards' pictures and counts: `/shops/`. A page depends on its own shops'
    counts only, so a sale in a shop on another page keeps it cached."""
    paginator = Paginator(shops_listed_kept(), settings.VITRINE_SHOPS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = _shop_cards(list(page.object_list))
    return page


def _shop_cards(
    shops: list[ShopPage],
    *,
    pictures_of: Iterable[tuple[object, str]] = (),
    cards: Sequence[ItemPage] = (),
) -> list[ShopPage]:
    """Shops with their logo and banner (with renditions) and their number of pieces for
    sale: copies, the shops of `every_shop` being shared. The page's other pictures and its
    cards' covers are read with their pictures (shops_live)."""
    shops = [copy.copy(shop) for shop in shops]
    logos = [(shop, field) for shop in shops for field in ("logo", "banner")]
    read = attach_pictures([*logos, *pictures_of], along=cover_ids(cards))
    if read:
        attach_covers(list(cards), read=read)
    by_path = {shop.path: shop for shop in shops}
    # Each shop's count is kept until one of its pieces changes (marketplace.page_cache).
    counts = memoised_each(
        "shop-available",
        by_path,
        lambda paths: _available_counts([by_path[path] for path in paths]),
        tags_of=lambda path: [shop_items_tag(path)],
        default=0,
    )
    for shop in shops:
        shop.available_count = counts[shop.path]
    return shops
