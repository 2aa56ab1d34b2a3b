from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.functional import cached_property

from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField
from wagtail.images.shortcuts import get_rendition_or_not_found
from wagtail.models import Orderable, Page
from wagtail.search import index

from marketplace import fragments, page_cache
from marketplace.page_mixins import SharedPartsMixin, ViewRestrictionShortcutMixin
from vendors.cache import shop_tag
from vendors.models import VENDOR_RICH_TEXT_FEATURES, VendorPageForm

from . import cache
from .panels import StockPanel


class Designer(index.Indexed, models.Model):
    """A designer or brand (snippet). Shoppers browse by designer at `/designers/<slug>/`."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    logo = models.ForeignKey(
        "marketplace.CustomImage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    bio = models.TextField(blank=True)

    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("logo"), FieldPanel("bio")]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_url(self) -> str:
        return f"/designers/{self.slug}/"


class Category(index.Indexed, models.Model):
    """A kind of item (snippet), optionally nested: Bags › Clutches."""

    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("parent")]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="category_unique_name_in_parent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.parent} › {self.name}" if self.parent_id else self.name

    def clean(self):
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.pk == self.pk:
                raise ValidationError({"parent": "A category cannot sit inside itself."})
            ancestor = ancestor.parent


# Sold pieces stay visible, after the ones still for sale. Literal SQL, not Case(When()):
# SQLite matches an ORDER BY to an index on an expression only when no value is a parameter.
SOLD_LAST = RawSQL(
    "CASE WHEN quantity = 0 THEN 1 ELSE 0 END", [], output_field=models.IntegerField()
)


def minutes_left(held_until) -> int:
    """Whole minutes until a hold ends: at least 1 while it lasts, 0 once it has ended."""
    if held_until is None or held_until <= timezone.now():
        return 0
    return max(1, -(-int((held_until - timezone.now()).total_seconds()) // 60))


class ItemPage(SharedPartsMixin, ViewRestrictionShortcutMixin, Page):
    """`/shops/<shop>/<item>/`: one item for sale, under its ShopPage. The shop's staff edit it."""

    class Condition(models.TextChoices):
        NEW = "new", "New"
        PRISTINE = "pristine", "Pristine"
        EXCELLENT = "excellent", "Excellent"
        VERY_GOOD = "very_good", "Very good"
        GOOD = "good", "Good"

    designer = models.ForeignKey(Designer, on_delete=models.PROTECT, related_name="items")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="items")
    condition = models.CharField(max_length=10, choices=Condition.choices)
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=f"In {settings.VITRINE_CURRENCY}.",
    )
    # Stock: see STOCK_FIELDS. Written only by the order system and the vendor's stock control
    # (products.services.stock_set), never by a page save, revision, publish, revert or copy.
    quantity = models.PositiveIntegerField(
        default=1, help_text="How many you have. At 0 the item shows as sold."
    )
    # Every available unit is held by a checkout in progress until then (written by orders).
    held_until = models.DateTimeField(null=True, editable=False)
    description = RichTextField(blank=True, features=VENDOR_RICH_TEXT_FEATURES)
    size = models.CharField(max_length=60, blank=True)
    material = models.CharField(max_length=80, blank=True)
    colour = models.CharField(max_length=60, blank=True)
    year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1850), MaxValueValidator(2100)]
    )
    # A copy of `first_published_at` (which lives on Wagtail's page table), so that listings
    # filter and sort on one table's indexes and stop after a page of rows.
    listed_at = models.DateTimeField(null=True, editable=False)

    content_panels = [
        *Page.content_panels,
        FieldRowPanel([FieldPanel("designer"), FieldPanel("category")]),
        FieldRowPanel([FieldPanel("condition"), FieldPanel("price")]),
        StockPanel(),
        InlinePanel("gallery_images", label="Gallery", min_num=0),
        FieldPanel("description"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("size"), FieldPanel("material")]),
                FieldRowPanel([FieldPanel("colour"), FieldPanel("year")]),
            ],
            heading="Details",
        ),
    ]

    search_fields = [
        *Page.search_fields,
        index.SearchField("description"),
        index.RelatedFields("designer", [index.SearchField("name")]),
        index.FilterField("designer_id"),
        index.FilterField("category_id"),
        index.FilterField("condition"),
        index.FilterField("price"),
        index.FilterField("quantity"),
        index.FilterField("first_published_at"),
    ]

    # A copy starts with the source's stock (a new row of its own), but no checkout holds it.
    exclude_fields_in_copy = ["held_until"]

    parent_page_types = ["vendors.ShopPage"]
    subpage_types = []
    base_form_class = VendorPageForm
    route_select_related = ["designer", "category__parent"]  # see HomePage.route

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="item_quantity_gte_0"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="item_price_gte_0"),
        ]
        indexes = [
            # Listings and search sort on these, the primary key breaking ties.
            models.Index(fields=["price", "page_ptr"], name="item_price_idx"),
            models.Index(fields=["listed_at", "page_ptr"], name="item_listed_idx"),
            models.Index(fields=["condition"], name="item_condition_idx"),
            # One designer's pieces, newest first (the read API's `?designer=` in its default order).
            models.Index(
                F("designer"),
                F("listed_at").desc(),
                F("page_ptr").desc(),
                name="item_designer_newest_idx",
            ),  # fmt: skip
            # A designer's page: available first, newest first (the order of items_for_designer).
            models.Index(
                F("designer"),
                SOLD_LAST,
                F("listed_at").desc(),
                F("page_ptr"),
                name="item_designer_listing_idx",
            ),  # fmt: skip
        ]

    # Stock belongs to the order system, not to the page's content: Wagtail stores every field
    # of a page in each revision and writes every field on publish, approval, revert and copy,
    # so an old revision would put a sold piece back on sale. These columns are therefore left
    # out of revisions, taken from the live row when a revision is shown, and never written by
    # saving an existing page; a new page (created, or copied) inserts its own values.
    STOCK_FIELDS = ("quantity", "held_until")

    def save(self, *args, **kwargs):
        self.listed_at = self.first_published_at
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "first_published_at" in update_fields:
            update_fields = {*update_fields, "listed_at"}
        if self.pk is not None and not kwargs.get("force_insert"):
            if update_fields is None:
                update_fields = self._fields_a_full_save_writes()
            update_fields = [name for name in update_fields if name not in self.STOCK_FIELDS]
        if update_fields is not None:
            kwargs["update_fields"] = update_fields
        return super().save(*args, **kwargs)

    def _fields_a_full_save_writes(self) -> list[str]:
        """What `save()` without update_fields would write, as names: every loaded concrete
        field (the Page table's included; deferred ones stay unloaded, as Django does) and the
        child relations (gallery, comments) that modelcluster commits on a full save."""
        from modelcluster.models import get_all_child_m2m_relations, get_all_child_relations

        deferred = self.get_deferred_fields()
        return [
            *(
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.attname not in deferred
            ),
            *(relation.get_accessor_name() for relation in get_all_child_relations(self)),
            *(field.name for field in get_all_child_m2m_relations(self)),
        ]

    def serializable_data(self):
        data = super().serializable_data()
        for name in self.STOCK_FIELDS:
            data.pop(name, None)
        return data

    def with_content_json(self, content):
        # A revision (draft, old version, one awaiting approval) shows today's stock.
        obj = super().with_content_json(content)
        for name in self.STOCK_FIELDS:
            setattr(obj, name, getattr(self, name))
        return obj

    def cache_tags(self) -> list[str]:
        """What this piece's page shows (marketplace.page_cache): itself and its shop."""
        return [cache.item_tag(self.pk), shop_tag(self.path[: -self.steplen])]

    def changed_tags(self) -> list[str]:
        # A publish may add it to the newest arrivals and search, a withdrawal take it off.
        return [
            *cache.item_changed_tags(item_id=self.pk, path=self.path, designer_id=self.designer_id),
            cache.ARRIVALS,
            cache.LISTED,
        ]

    @property
    def is_sold(self) -> bool:
        return self.quantity == 0

    @property
    def is_reserved(self) -> bool:
        """In stock, but every piece is held by someone checking out (not sold, not available)."""
        return (
            self.quantity > 0 and self.held_until is not None and self.held_until > timezone.now()
        )

    @property
    def reserved_minutes_left(self) -> int:
        """Whole minutes until the hold ends (at least 1 while reserved)."""
        return minutes_left(self.held_until) if self.is_reserved else 0

    # Its own parts are shared (marketplace.fragments) until the piece or its shop changes.
    parts_template = "products/item_page_parts.html"
    parts_params = ()

    def parts_context(self, request, context):
        from . import selectors

        if self.is_reserved:  # "Reserved" until the hold runs out, by itself
            fragments.valid_until(self.held_until)
        return {**context, **selectors.item_detail(item=self, request=request)}


class ListedItem(models.Model):
    """A live piece as search filters, counts, sorts and (on PostgreSQL) matches it: one narrow
    row per live ItemPage, with its shop, its category's parent and its text copied in, so a
    search reads this one table and joins nothing. Kept by products.listing."""

    item = models.OneToOneField(
        ItemPage, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    path = models.CharField(max_length=255)  # the page's: sections hidden by tree path
    shop_path = models.CharField(max_length=255)
    designer = models.ForeignKey(
        Designer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    category_parent = models.ForeignKey(
        Category, null=True, on_delete=models.CASCADE, related_name="+"
    )
    condition = models.CharField(max_length=10, choices=ItemPage.Condition.choices)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    listed_at = models.DateTimeField(null=True)
    # PostgreSQL only (GIN index in migration 0008): the page's search index title and body,
    # weighted as Wagtail's backend weighs them. SQLite matches through FTS5 instead.
    document = SearchVectorField(null=True)

    class Meta:
        indexes = [
            # The search sorts, the primary key breaking ties, and one designer's newest.
            models.Index(fields=["price", "item"], name="listed_price_idx"),
            models.Index(fields=["listed_at", "item"], name="listed_newest_idx"),
            models.Index(
                F("designer"),
                F("listed_at").desc(),
                F("item").desc(),
                name="listed_designer_newest_idx",
            ),  # fmt: skip
            models.Index(fields=["shop_path"], name="listed_shop_idx"),
        ]

    def __str__(self) -> str:
        return f"listed item {self.item_id}"


class ListingChange(models.Model):
    """A search row written again (products.listing), when: what kept matches
    (products.matches) are brought up to date with after a publish, rather than found again.
    Written in the transaction that writes the row; forgotten after a day."""

    item_id = models.IntegerField(null=True)  # None: any row may have changed (a move, a rebuild)
    at = models.FloatField(db_index=True)  # time.time() of the write

    def __str__(self) -> str:
        return f"listing change of {self.item_id or 'every item'} at {self.at}"


class ItemImage(Orderable):
    """One picture in an item's gallery; the first is the cover on item cards."""

    item = ParentalKey(ItemPage, on_delete=models.CASCADE, related_name="gallery_images")
    image = models.ForeignKey("marketplace.CustomImage", on_delete=models.CASCADE, related_name="+")
    alt_text = models.CharField(
        max_length=250,
        blank=True,
        help_text="Describe the picture for people who cannot see it. "
        "Leave empty to use the image's own description.",
    )

    panels = [FieldPanel("image"), FieldPanel("alt_text")]

    @property
    def alt(self) -> str:
        return self.alt_text or self.image.default_alt_text or self.item.title

    # Each size is made (or found) once per request: the item page shows the large one twice
    # and its JSON-LD names it again.
    @cached_property
    def large(self):
        return get_rendition_or_not_found(self.image, "max-1200x1200")

    @cached_property
    def thumb(self):
        return get_rendition_or_not_found(self.image, "fill-160x200")


class DesignerIndexPage(ViewRestrictionShortcutMixin, RoutablePageMixin, Page):
    """`/designers/` lists designers; `/designers/<slug>/` lists one designer's items in all shops."""

    intro = models.TextField(blank=True, max_length=500)

    content_panels = [*Page.content_panels, FieldPanel("intro")]

    max_count = 1
    parent_page_types = ["home.HomePage"]
    subpage_types = []

    @path("")
    def designer_list(self, request):
        from . import selectors

        return self.render(
            request, context_overrides={"designers": selectors.designers_with_counts()}
        )

    @path("<slug:slug>/")
    def designer_detail(self, request, slug):
        from . import selectors

        designer = selectors.designer_by_slug(slug)
        # Not the whole catalogue: this designer's pieces, and which shops are listed.
        page_cache.depends_on(cache.designer_items_tag(designer.pk), cache.SHOPS)

        def parts_context() -> dict:
            return {
                **self.get_context(request),
                "designer": designer,
                "items_page": selectors.paginate(
                    request,
                    lambda: selectors.items_for_designer(designer=designer),
                    pictures_of=[(designer, "logo")],
                    count=selectors.designer_counts([designer.pk])[designer.pk][0],
                    kept=selectors.Kept(
                        f"designer:{designer.pk}",
                        [cache.designer_items_tag(designer.pk), cache.SHOPS],
                    ),
                ),
            }

        return self.render(
            request,
            template="products/designer_page.html",
            context_overrides={
                "designer": designer,
                "parts": fragments.page_parts(
                    request, "products/designer_page_parts.html", parts_context
                ),
            },
        )
