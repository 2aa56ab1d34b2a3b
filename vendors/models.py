from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.http import HttpRequest

from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import FieldPanel, HelpPanel, MultiFieldPanel
from wagtail.fields import RichTextField
from wagtail.images.models import AbstractImage
from wagtail.models import Page
from wagtail.search import index

from phonenumber_field.modelfields import PhoneNumberField

from marketplace import page_cache
from marketplace.page_mixins import SharedPartsMixin, ViewRestrictionShortcutMixin

from .cache import shop_items_tag, shop_tag
from .signals import page_context

# Vendor-edited rich text: formatting and links only. No embeds, no raw HTML, no images.
VENDOR_RICH_TEXT_FEATURES = ["bold", "italic", "ol", "ul", "link"]


def default_commission_rate() -> Decimal:
    return settings.VITRINE_DEFAULT_COMMISSION_RATE


class Vendor(models.Model):
    """The business behind a shop. Staff manage it; its ShopPage is what shoppers see."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=120, unique=True)
    contact_email = models.EmailField()
    commission_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=default_commission_rate,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Share of each sale kept by Vitrine, e.g. 0.15 for 15%.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requires_moderation = models.BooleanField(
        default=False,
        help_text="Edits by this vendor go live only after an editor approves them.",
    )
    stripe_account_id = models.CharField(
        "Stripe Connect account",
        max_length=64,
        blank=True,
        help_text="acct_… Payouts are transferred here when an order ships; empty: paid manually.",
    )
    # The admin group and image collection that `vendor_onboard` made for this vendor's staff.
    group = models.OneToOneField(
        "auth.Group",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    collection = models.OneToOneField(
        "wagtailcore.Collection",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(commission_rate__gte=0) & models.Q(commission_rate__lte=1),
                name="vendor_commission_rate_0_1",
            )
        ]

    def __str__(self) -> str:
        return self.name


def vendor_for_user(user) -> Vendor | None:
    """The vendor whose staff this user is, or None (superusers are never treated as vendors)."""
    if isinstance(user, AnonymousUser) or not user.is_authenticated or user.is_superuser:
        return None
    if not hasattr(user, "_vendor_cache"):
        user._vendor_cache = Vendor.objects.filter(group__user=user).select_related("shop").first()
    return user._vendor_cache


NOT_OWN_IMAGE = "Choose one of your shop's images."


def image_field_names(form) -> list[str]:
    """The form's fields that store images (foreign keys or many-to-many to an image model)."""
    names = []
    for name in form.fields:
        try:
            field = form._meta.model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        related = getattr(field, "related_model", None)
        if field.is_relation and isinstance(related, type) and issubclass(related, AbstractImage):
            names.append(name)
    return names


class VendorPageForm(WagtailAdminPageForm):
    """The admin form of every page type a shop's staff edit (ShopPage, ItemPage).

    The image choosers show a vendor only their own collection, but the POSTed image id is not
    checked by Wagtail: here every image field of the page and of its inline rows (gallery
    images), found by introspection, must name an image of the vendor's own collection. Only
    new choices are checked, so an image an editor put on the page does not block the vendor's
    other edits. Superusers and editors are not vendors and may use any image.
    """

    def is_valid(self) -> bool:
        valid = super().is_valid()  # cleans the page form and every inline formset
        vendor = vendor_for_user(self.for_user)
        if vendor is None:
            return valid
        return self._own_images_only(self, vendor.collection_id) and valid

    @classmethod
    def _own_images_only(cls, form, collection_id: int | None) -> bool:
        ok = True
        cleaned = getattr(form, "cleaned_data", None)
        if cleaned is None or cleaned.get("DELETE"):
            return ok
        for name in image_field_names(form):
            if name not in form.changed_data or not cleaned.get(name):
                continue
            value = cleaned[name]
            images = [value] if isinstance(value, AbstractImage) else list(value)
            if any(image.collection_id != collection_id for image in images):
                form.add_error(name, NOT_OWN_IMAGE)
                ok = False
        for formset in getattr(form, "formsets", {}).values():
            for child in formset.forms:
                ok = cls._own_images_only(child, collection_id) and ok
        return ok


class ShopIndexPage(ViewRestrictionShortcutMixin, Page):
    """`/shops/`: lists every live shop. One per site, under the HomePage; editors keep the intro."""

    intro = models.TextField(blank=True, max_length=500)

    content_panels = [*Page.content_panels, FieldPanel("intro")]

    max_count = 1
    parent_page_types = ["home.HomePage"]
    subpage_types = ["vendors.ShopPage"]

    def cache_tags(self) -> list[str]:
        # Which shops are listed; each shop's count records its own tag as it is read.
        return [page_cache.SHOPS]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.update(context_from_above(self, request))  # the listed shops (products)
        return context


def context_from_above(page: Page, request: HttpRequest) -> dict:
    """What the apps above add to a shop page's context: vendors.signals.page_context."""
    context: dict = {}
    for _receiver, answer in page_context.send(sender=type(page), page=page, request=request):
        context.update(answer)
    return context


def takes_orders(*, live: bool, vendor_status: str) -> bool:
    """Whether a shop takes orders: published, and its vendor active (not pending or
    suspended). TAKING_ORDERS is the same rule for queries on ShopPage."""
    return live and vendor_status == Vendor.Status.ACTIVE


TAKING_ORDERS = models.Q(live=True, vendor__status=Vendor.Status.ACTIVE)


def with_vendor_status(shops: models.QuerySet["ShopPage"]) -> models.QuerySet["ShopPage"]:
    """Shops with `vendor_status`, what `shop_takes_orders` asks, read with their own row:
    only the status, never the vendor's own details."""
    return shops.annotate(vendor_status=models.F("vendor__status"))


def shop_takes_orders(shop: "ShopPage | None") -> bool:
    """`takes_orders` for a shop read `with_vendor_status` (None: no shop at all)."""
    return shop is not None and takes_orders(live=shop.live, vendor_status=shop.vendor_status)


class ShopPage(SharedPartsMixin, ViewRestrictionShortcutMixin, Page):
    """`/shops/<shop>/`: one per Vendor, under the ShopIndexPage. The vendor's staff edit it."""

    vendor = models.OneToOneField(Vendor, on_delete=models.PROTECT, related_name="shop")
    logo = models.ForeignKey(
        "marketplace.CustomImage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    banner = models.ForeignKey(
        "marketplace.CustomImage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    intro = models.CharField(max_length=300, blank=True, help_text="One or two plain sentences.")
    story = RichTextField(blank=True, features=VENDOR_RICH_TEXT_FEATURES)
    address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=80, blank=True)

    phone_number = PhoneNumberField(
        blank=True,
        help_text="For phone orders. International format, e.g. +44 20 7946 0958.",
    )
    phone_orders = models.BooleanField(
        "publish phone number",
        default=False,
        help_text="Show the number on the shop's item pages so shoppers can order by phone.",
    )
    phone_hours = models.CharField(
        max_length=120, blank=True, help_text="When someone answers, e.g. Mon–Fri 10:00–18:00."
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("intro"),
        FieldPanel("story"),
        MultiFieldPanel([FieldPanel("logo"), FieldPanel("banner")], heading="Pictures"),
        MultiFieldPanel([FieldPanel("address"), FieldPanel("city")], heading="Where"),
        MultiFieldPanel(
            [
                HelpPanel(
                    content="The number is shown on your item pages only when "
                    "“publish phone number” is ticked."
                ),
                FieldPanel("phone_number"),
                FieldPanel("phone_orders"),
                FieldPanel("phone_hours"),
            ],
            heading="Phone orders",
        ),
    ]

    search_fields = [*Page.search_fields, index.SearchField("intro"), index.FilterField("city")]

    parent_page_types = ["vendors.ShopIndexPage"]
    subpage_types = ["products.ItemPage"]
    base_form_class = VendorPageForm

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(phone_orders=True, phone_number=""),
                name="shop_published_phone_needs_number",
            )
        ]

    def clean(self):
        super().clean()
        if self.phone_orders and not self.phone_number:
            raise ValidationError(
                {"phone_number": "Add a phone number, or untick “publish phone number”."}
            )

    def cache_tags(self) -> list[str]:
        """What this shop's page shows (marketplace.page_cache): the shop and its pieces."""
        return [shop_tag(self.path), shop_items_tag(self.path)]

    def changed_tags(self) -> list[str]:
        # Its name and status show on its pieces' pages and cards, and in every listing.
        return [
            shop_tag(self.path),
            shop_items_tag(self.path),
            page_cache.SHOPS,
            page_cache.CATALOGUE,
        ]

    @property
    def published_phone_number(self):
        """The shop's phone number, or None unless the shop publishes it."""
        if self.phone_orders and self.phone_number:
            return self.phone_number
        return None

    # Its own parts are shared (marketplace.fragments) until the shop or its pieces change.
    parts_template = "vendors/shop_page_parts.html"

    def parts_context(self, request, context):
        return {
            **context,
            "taking_orders": takes_orders(live=self.live, vendor_status=self.vendor.status),
            **context_from_above(self, request),  # a page of its pieces (products)
        }
