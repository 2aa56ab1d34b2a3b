"""Test data for orders: `paid_order(items=[...])` is a paid order as checkout and payment leave it.

The rules follow orders.services: totals are the sum of the lines, one VendorOrder per shop with
the shop's commission rate and `commission_on(subtotal, rate)` (`_order_create`), and each shop's part
gets its EARNED payout entry (`order_mark_paid`). Stock is left alone: pass `sold=True` items
where a test needs the pieces gone.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

import factory
from factory.django import DjangoModelFactory

from marketplace.money import commission_on
from orders.models import Order, OrderLine, PayoutEntry, VendorOrder
from products.models import ItemPage
from vendors.factories import VendorFactory
from vendors.models import ShopPage, Vendor


class OrderFactory(DjangoModelFactory):
    """A pending web order with a UK shipping address, by a guest unless `customer=` is given.

    Totals are what the caller says (zero by default): use `paid_order` for a whole order with
    shops and lines. `OrderFactory(paid=True)` only sets the order's own payment fields.
    """

    customer = None
    email = factory.LazyAttribute(
        lambda obj: obj.customer.email if obj.customer else "guest@example.com"
    )
    currency = factory.LazyFunction(lambda: settings.VITRINE_CURRENCY)
    subtotal = Decimal("0.00")
    total = factory.SelfAttribute("subtotal")
    shipping_name = "Ada Lovelace"
    shipping_line1 = "12 St James's Square"
    shipping_city = "London"
    shipping_postcode = "SW1Y 4JH"
    shipping_country = "GB"
    shipping_phone = "+442079460123"

    class Meta:
        model = Order

    class Params:
        paid = factory.Trait(
            status=Order.Status.PAID,
            paid_at=factory.LazyFunction(timezone.now),
            payment_intent_id=factory.Sequence(lambda n: f"pi_test_{n}"),
        )


class VendorOrderFactory(DjangoModelFactory):
    """One shop's part of an order; commission is the shop's rate on the subtotal, as at checkout."""

    order = factory.SubFactory(OrderFactory)
    vendor = factory.SubFactory(VendorFactory)
    subtotal = Decimal("0.00")
    commission_rate = factory.SelfAttribute("vendor.commission_rate")
    commission = factory.LazyAttribute(lambda obj: commission_on(obj.subtotal, obj.commission_rate))

    class Meta:
        model = VendorOrder


class OrderLineFactory(DjangoModelFactory):
    """A line with the item's title and price as snapshots (or a plain line without `item=`)."""

    vendor_order = factory.SubFactory(VendorOrderFactory)
    item = None
    title = factory.LazyAttribute(lambda obj: obj.item.title if obj.item else "A piece")
    unit_price = factory.LazyAttribute(
        lambda obj: obj.item.price if obj.item else Decimal("100.00")
    )

    class Meta:
        model = OrderLine


class PayoutEntryFactory(DjangoModelFactory):
    """A ledger entry of the vendor order's payout, signed as the services write it: earned and
    transferred are the payout, a reversal (refund) takes it back."""

    vendor_order = factory.SubFactory(VendorOrderFactory)
    kind = PayoutEntry.Kind.EARNED
    amount = factory.LazyAttribute(
        lambda obj: (
            -obj.vendor_order.payout_amount
            if obj.kind == PayoutEntry.Kind.REVERSED
            else obj.vendor_order.payout_amount
        )
    )

    class Meta:
        model = PayoutEntry


@dataclass(frozen=True)
class Piece:
    """Something `vendor` sold with no catalogue page behind it: only the line's snapshots."""

    vendor: Vendor
    price: Decimal | str
    title: str = ""


def _line_of(entry: ItemPage | Piece) -> tuple[Vendor, ItemPage | None, str, Decimal]:
    if isinstance(entry, Piece):
        title = entry.title or f"Piece from {entry.vendor.name}"
        return entry.vendor, None, title, Decimal(entry.price)
    shop = ShopPage.objects.parent_of(entry).select_related("vendor").get()
    return shop.vendor, entry, entry.title, Decimal(entry.price)


def _fulfilment_dates(status: str, delivered_at: datetime | None) -> dict:
    now = timezone.now()
    if status == VendorOrder.Status.SHIPPED:
        return {"shipped_at": now}
    if status == VendorOrder.Status.DELIVERED:
        window = timedelta(days=settings.VITRINE_RETURN_WINDOW_DAYS, hours=1)
        delivered_at = delivered_at or now - window
        return {"shipped_at": delivered_at - timedelta(days=2), "delivered_at": delivered_at}
    return {}


def paid_order(
    *,
    items: Iterable[ItemPage | Piece],
    customer=None,
    email: str | None = None,
    paid_at: datetime | None = None,
    vendor_status: str = VendorOrder.Status.PAID,
    ledger: Iterable[str] = (PayoutEntry.Kind.EARNED,),
    delivered_at: datetime | None = None,
    **order_fields,
) -> Order:
    """A paid order for `items` (ItemPages, or `Piece`s for lines without a page).

    Each shop's part is in `vendor_status` and has the payout entries of each kind in `ledger`
    (EARNED, as payment writes it; add REVERSED or TRANSFERRED for what refunds and payouts
    write; `()` for none). A shipped part was shipped now; a delivered one at `delivered_at`,
    by default just past the return window (its payout due). Other keyword arguments are Order
    fields. Shops' parts come in the order their first item does.
    """
    by_vendor: dict[Vendor, list[tuple[ItemPage | None, str, Decimal]]] = {}
    for entry in items:
        vendor, item, title, price = _line_of(entry)
        by_vendor.setdefault(vendor, []).append((item, title, price))
    if not by_vendor:
        raise ValueError("a paid order needs at least one item")
    subtotal = sum((price for lines in by_vendor.values() for *_, price in lines), Decimal("0"))

    if email is not None:
        order_fields["email"] = email
    if paid_at is not None:
        order_fields["paid_at"] = paid_at
    order = OrderFactory(
        paid=True, customer=customer, subtotal=subtotal, total=subtotal, **order_fields
    )
    for vendor, lines in by_vendor.items():
        part = VendorOrderFactory(
            order=order,
            vendor=vendor,
            status=vendor_status,
            subtotal=sum((price for *_, price in lines), Decimal("0")),
            **_fulfilment_dates(vendor_status, delivered_at),
        )
        for item, title, price in lines:
            OrderLineFactory(vendor_order=part, item=item, title=title, unit_price=price)
        for kind in ledger:
            PayoutEntryFactory(vendor_order=part, kind=kind)
    return order
