"""Reads for the cart and orders."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    CharField,
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, TruncWeek
from django.http import HttpRequest
from django.utils import timezone

from wagtail.models import Page, WorkflowState

from marketplace.page_cache import memoised
from products.models import ItemPage
from products.selectors import cards_of
from vendors.models import Vendor

from .models import Cart, CartItem, DisputeStatus, Order, OrderLine, PayoutEntry, VendorOrder

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


@dataclass
class ShopGroup:
    shop: object
    items: list[ItemPage] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((item.price for item in self.items), Decimal("0"))


@dataclass
class CartSummary:
    groups: list[ShopGroup]

    @property
    def total(self) -> Decimal:
        return sum((group.subtotal for group in self.groups), Decimal("0"))

    @property
    def count(self) -> int:
        return sum(len(group.items) for group in self.groups)


def _lines_of(*, cart_id: int | None, user: User | AnonymousUser | None) -> QuerySet[CartItem]:
    """The lines of the shopper's cart: the account's when signed in, else the one the
    session names (services.cart_for_request's rule)."""
    if user is not None and user.is_authenticated:
        return CartItem.objects.filter(cart__user=user)
    if cart_id:
        return CartItem.objects.filter(cart_id=cart_id, cart__user__isnull=True)
    return CartItem.objects.none()


def cart_tag(cart_id: int) -> str:
    return f"cart:{cart_id}"


def account_cart_tag(user_id: int) -> str:
    return f"account-cart:{user_id}"


def cart_lines(
    *, cart_id: int | None, user: User | AnonymousUser | None
) -> tuple[int | None, list[int]]:
    """The shopper's cart and the ids of its pieces, in order; (None, []) while it holds
    none. Kept until one of its lines comes or goes (receivers: `cart:<id>` for the
    session's cart, `account-cart:<user>` for an account's), so a cart shown again reads no
    row."""
    if user is not None and user.is_authenticated:
        name, tag = f"cart-lines:account:{user.pk}", account_cart_tag(user.pk)
    elif cart_id:
        name, tag = f"cart-lines:{cart_id}", cart_tag(cart_id)
    else:
        return None, []

    def read() -> tuple[int | None, list[int]]:
        lines = list(
            _lines_of(cart_id=cart_id, user=user)
            .order_by("item_id")
            .values_list("cart_id", "item_id")
        )
        return (lines[0][0] if lines else None), [item_id for _, item_id in lines]

    return memoised(name, read, tags=[tag])


def cart_item_ids(*, cart: Cart | None) -> list[int]:
    """The ids of the pieces in the cart, in order."""
    if cart is None:
        return []
    return list(cart.lines.order_by("item_id").values_list("item_id", flat=True))


def cart_cards(item_ids: Sequence[int]) -> list[ItemPage]:
    """The cards of the cart's pieces (products.selectors.cards_of: kept under each piece's
    and shop's tags, so a page showing them is shown afresh once one is sold, held,
    withdrawn or edited), in the order of their shops."""
    return sorted(cards_of(item_ids), key=lambda item: item.path)


def cart_summary(*, items: Sequence[ItemPage]) -> CartSummary:
    """The cart's pieces (cart_cards, as services.cart_prune leaves them) grouped by shop."""
    groups: OrderedDict[int, ShopGroup] = OrderedDict()
    for item in items:
        groups.setdefault(item.shop.pk, ShopGroup(shop=item.shop)).items.append(item)
    return CartSummary(groups=list(groups.values()))


def order_for_shopper(*, request: HttpRequest, reference: str) -> Order | None:
    """An order the current shopper may see: theirs by account, or placed in this session."""
    order = (
        Order.objects.filter(reference=reference)
        .prefetch_related("vendor_orders__lines", "vendor_orders__vendor")
        .first()
    )
    if order is None:
        return None
    if request.user.is_authenticated and order.customer_id == request.user.pk:
        return order
    if reference in request.session.get("checkout_orders", []):
        return order
    return None


# A shop sees its orders from payment on (before that they are only a hold on stock).
# --- A shopper's own orders (/account/orders/) ------------------------------------------------

# Where a shopper can follow a parcel, by carrier name as the shop typed it (lower case).
TRACKING_URLS = {
    "royal mail": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
    "parcelforce": "https://www.parcelforce.com/track-trace?trackNumber={number}",
    "dhl": "https://www.dhl.com/gb-en/home/tracking.html?tracking-id={number}",
    "dpd": "https://track.dpd.co.uk/parcels/{number}",
    "ups": "https://www.ups.com/track?tracknum={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "evri": "https://www.evri.com/track/parcel/{number}",
}


def tracking_url(*, carrier: str, number: str) -> str:
    template = TRACKING_URLS.get((carrier or "").strip().lower())
    return template.format(number=number.strip()) if template and number.strip() else ""


def _with_parts(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(
        Prefetch(
            "vendor_orders",
            queryset=VendorOrder.objects.select_related("vendor").order_by("pk"),
        ),
        Prefetch("vendor_orders__lines", queryset=OrderLine.objects.order_by("pk")),
    )


def orders_for_customer(*, user: User) -> QuerySet[Order]:
    """The account's orders, newest first (never anyone else's)."""
    return _with_parts(Order.objects.filter(customer=user)).order_by("-created_at")


def _with_tracking(order: Order) -> Order:
    for part in order.vendor_orders.all():
        # Set for the templates only: no such model field, so the stubs cannot know it.
        part.tracking_url = tracking_url(  # type: ignore[attr-defined]
            carrier=part.carrier, number=part.tracking_number
        )
    return order


def order_history(*, user: User) -> list[Order]:
    """The shopper's orders, each shop's part with its status and a tracking link if known."""
    return [_with_tracking(order) for order in orders_for_customer(user=user)]


def order_for_customer(*, user: User, reference: str) -> Order | None:
    """The shopper's own order with this reference, or None (also for someone else's)."""
    order = orders_for_customer(user=user).filter(reference=reference).first()
    return _with_tracking(order) if order is not None else None


def orders_kept_for_delivery(*, user: User) -> list[dict[str, Any]]:
    """The account's orders still on their way, which erasure leaves their delivery details
    until they arrive (privacy.services.account_erase): each with its open shops' parts and,
    once every one of those has shipped, the date the details go at the latest."""
    days = settings.VITRINE_ERASE_SHIPPED_ORDERS_AFTER_DAYS
    orders = (
        Order.objects.filter(customer=user)
        .in_flight()
        .prefetch_related("vendor_orders__vendor", "vendor_orders__lines")
        .order_by("created_at")
    )
    kept = []
    for order in orders:
        parts = [p for p in order.vendor_orders.all() if p.status not in VendorOrder.FINAL_STATUSES]
        shipped = [part.shipped_at for part in parts if part.shipped_at]
        latest = max(shipped) + timedelta(days=days) if len(shipped) == len(parts) else None
        kept.append({"order": order, "parts": parts, "latest": latest})
    return kept


def stripe_customers_of_orders(*, user: User) -> set[str]:
    """The Stripe Customers our checkouts created for the account's orders."""
    return set(
        Order.objects.filter(customer=user)
        .exclude(stripe_customer_id="")
        .values_list("stripe_customer_id", flat=True)
    )


# --- Guest orders an account holder may add to their account -----------------------------------
# Anyone can type an address at checkout (and a shop can take a phone order for any address), so
# a guest order joins an account only when its holder proves and confirms it is theirs
# (privacy.services): never on the address alone.


def may_claim_guest_orders(user: User) -> bool:
    """Only a verified address proves the account holder reads that mailbox; an unverified
    one could be anybody's. Erased and inactive accounts claim nothing."""
    return bool(user.email) and user.email_verified and user.is_active and user.erased_at is None


def guest_orders_to_confirm(*, user: User) -> QuerySet[Order]:
    """Guest orders placed with the account's verified address (any letter case) that are in
    no account yet: offered to the account holder, who must confirm each is theirs (anyone
    can type an address at checkout). Erased orders, and orders kept only for delivery after
    an erasure, are never offered."""
    if not may_claim_guest_orders(user):
        return Order.objects.none()
    # iexact escapes LIKE wildcards: "a_b@x" does not match "axb@x".
    return (
        Order.objects.filter(
            customer__isnull=True, email__iexact=user.email, erase_when_fulfilled_at__isnull=True
        )
        .exclude(email="")
        .order_by("-created_at")
    )


# --- The order desk and sales -------------------------------------------------------------------

DESK_STATUSES = (
    VendorOrder.Status.PAID,
    VendorOrder.Status.SHIPPED,
    VendorOrder.Status.DELIVERED,
    VendorOrder.Status.REFUNDED,
)


def vendor_orders_for_desk(*, vendor: Vendor) -> QuerySet[VendorOrder]:
    """A shop's parts of orders on its order desk and dashboard."""
    return VendorOrder.objects.select_related("order", "vendor").filter(
        vendor=vendor, status__in=DESK_STATUSES
    )


# --- Sales and payouts (shop dashboards, staff "Sales" view) ----------------------------------

# A sale counts once paid and for as long as it is not refunded or cancelled.
SALES_STATUSES = (VendorOrder.Status.PAID, VendorOrder.Status.SHIPPED, VendorOrder.Status.DELIVERED)
SALES_WEEKS = 12


@dataclass(frozen=True)
class WeekSales:
    start: date  # the Monday that starts the ISO week, in the site's time zone
    amount: Decimal


@dataclass(frozen=True)
class SalesFigures:
    """Paid sales per ISO week (oldest first, ending with the current week) and the payout
    ledger's balance: `owed` is earned net of commission, less reversals and transfers."""

    weeks: tuple[WeekSales, ...]
    owed: Decimal
    paid_out: Decimal

    @property
    def total(self) -> Decimal:
        return sum((week.amount for week in self.weeks), Decimal("0"))


def sales_week_starts(*, weeks: int = SALES_WEEKS, now: datetime | None = None) -> list[date]:
    """The Mondays of the last `weeks` ISO weeks, the current one last."""
    today = timezone.localdate(now)
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def sales_figures(
    *, vendor_ids: Collection[int], weeks: int = SALES_WEEKS, now: datetime | None = None
) -> dict[int, SalesFigures]:
    """Each vendor's paid sales per week and payout totals, by vendor id: two queries, however
    many vendors are asked for."""
    return _sales(vendor_ids=set(vendor_ids), weeks=weeks, now=now)


def site_sales_figures(*, weeks: int = SALES_WEEKS, now: datetime | None = None) -> SalesFigures:
    """The same figures for the whole site, in two queries."""
    return _sales(vendor_ids=None, weeks=weeks, now=now)[SITE]


SITE = 0  # the key of the site-wide figures (no vendor has primary key 0)


def _sales(
    *, vendor_ids: set[int] | None, weeks: int, now: datetime | None
) -> dict[int, SalesFigures]:
    """Per vendor in `vendor_ids`, or for the whole site (key SITE) when it is None."""
    starts = sales_week_starts(weeks=weeks, now=now)
    begin = timezone.make_aware(datetime.combine(starts[0], time.min))
    end = timezone.make_aware(datetime.combine(starts[-1] + timedelta(weeks=1), time.min))
    vendor_orders = VendorOrder.objects.filter(
        status__in=SALES_STATUSES, order__paid_at__gte=begin, order__paid_at__lt=end
    ).order_by()  # the model's ordering would split the groups
    entries = PayoutEntry.objects.order_by()
    if vendor_ids is not None:
        vendor_orders = vendor_orders.filter(vendor_id__in=vendor_ids)
        entries = entries.filter(vendor_order__vendor_id__in=vendor_ids)

    # Grouped by ISO week (Monday, site time zone) in the database: one row per vendor and week.
    weekly = (
        vendor_orders.annotate(
            week=TruncWeek("order__paid_at", output_field=DateField()),
            key=F("vendor_id") if vendor_ids is not None else Value(SITE),
        )
        .values("key", "week")
        .annotate(amount=Sum("subtotal"))
    )
    ledger = (
        entries.annotate(
            key=F("vendor_order__vendor_id") if vendor_ids is not None else Value(SITE)
        )
        .values("key")
        .annotate(
            earned=Sum("amount", filter=Q(kind__in=PayoutEntry.EARNED_KINDS)),
            paid_out=Sum("amount", filter=Q(kind__in=PayoutEntry.PAID_OUT_KINDS)),
        )
    )

    zero = Decimal("0")
    amounts: dict[tuple[int, date], Decimal] = {
        (row["key"], row["week"]): row["amount"] for row in weekly
    }
    balances = {row["key"]: row for row in ledger}
    figures = {}
    for key in vendor_ids if vendor_ids is not None else [SITE]:
        balance: Mapping[str, Any] = balances.get(key, {})
        earned, paid_out = balance.get("earned") or zero, balance.get("paid_out") or zero
        figures[key] = SalesFigures(
            weeks=tuple(WeekSales(start, amounts.get((key, start), zero)) for start in starts),
            owed=earned - paid_out,
            paid_out=paid_out,
        )
    return figures


def payouts_due(*, now: datetime | None = None) -> QuerySet[VendorOrder]:
    """Vendor orders whose payout can be made now: delivered, with the shopper's return window
    (VITRINE_RETURN_WINDOW_DAYS) over, earned and neither paid (transferred or netted) nor
    reversed, not under a chargeback, for a shop with a Stripe Connect account (shops without
    one are paid by hand from the ledger). Oldest first."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.VITRINE_RETURN_WINDOW_DAYS)
    entries = PayoutEntry.objects.filter(vendor_order=OuterRef("pk"))
    return (
        VendorOrder.objects.filter(
            status=VendorOrder.Status.DELIVERED,
            delivered_at__lte=cutoff,
            vendor__stripe_account_id__gt="",
        )
        .exclude(order__dispute_status__in=[DisputeStatus.OPEN, DisputeStatus.LOST])
        .filter(Exists(entries.filter(kind=PayoutEntry.Kind.EARNED)))
        .exclude(
            Exists(
                entries.filter(kind__in=[PayoutEntry.Kind.TRANSFERRED, PayoutEntry.Kind.REVERSED])
            )
        )
        .exclude(Exists(entries.filter(kind=PayoutEntry.Kind.NETTED, amount__gt=0)))
        .select_related("order", "vendor")
        .order_by("pk")
    )


# --- The admin's dashboards: a shop's own, and sales across shops -------------------------------


def vendor_dashboard(*, vendor: Vendor) -> dict[str, Any]:
    """Numbers for the vendor's admin home: what is live, sold and waiting for review, the
    latest orders and the weekly sales."""
    shop = vendor.shop
    items = ItemPage.objects.child_of(shop)
    counts = items.aggregate(
        for_sale=Count("pk", filter=Q(live=True, quantity__gt=0)),
        sold=Count("pk", filter=Q(quantity=0)),
        drafts=Count("pk", filter=Q(live=False)),
    )
    page_ids = ItemPage.objects.descendant_of(shop, inclusive=False).annotate(
        key=Cast("pk", CharField())
    )
    awaiting = (
        WorkflowState.objects.active()
        .filter(
            Q(object_id__in=page_ids.values("key")) | Q(object_id=str(shop.pk)),
            base_content_type=ContentType.objects.get_for_model(Page),
        )
        .count()
    )
    recent_orders = list(vendor_orders_for_desk(vendor=vendor).order_by("-order__created_at")[:5])
    return {
        "vendor": vendor,
        "shop": shop,
        "awaiting_review": awaiting,
        "recent_orders": recent_orders,
        "sales": sales_figures(vendor_ids=[vendor.pk])[vendor.pk],
        **counts,
    }


@dataclass(frozen=True)
class ShopSales:
    vendor: Vendor
    figures: SalesFigures


def vendors_for_sales() -> QuerySet[Vendor]:
    """Every shop, for the staff's sales overview (suspended and pending ones too)."""
    return Vendor.objects.order_by("name", "pk")


def sales_by_shop(*, vendors: Sequence[Vendor]) -> list[ShopSales]:
    """Each shop's weekly sales and payout totals, in two queries for any number of shops."""
    figures = sales_figures(vendor_ids=[vendor.pk for vendor in vendors])
    return [ShopSales(vendor=vendor, figures=figures[vendor.pk]) for vendor in vendors]
