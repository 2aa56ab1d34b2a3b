"""Writes for saved lists: save and unsave (account rows or the anonymous session list), the
merge at sign-in, price-drop alerts and erasure. Keyword-only; mail goes after commit."""

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from products.models import ItemPage
from products.selectors import items_live

from . import emails, tokens
from .errors import SavedError
from .errors import SavedErrorCode as Code
from .models import SavedItem

if TYPE_CHECKING:
    from accounts.models import User
from .selectors import (
    SAVED_SESSION_KEY,
    forget_account_saved_ids,
    price_alert_recipients,
    session_saved_ids,
)

logger = logging.getLogger(__name__)

# A list longer than this is no longer a shortlist; it also bounds the session's size.
SAVED_LIMIT = 200


def saveable_item(*, item_id: int) -> ItemPage | None:
    """A live, public item of a live shop: nothing else can be saved (forged or withdrawn ids
    give None)."""
    # PageQuerySet.public() is Wagtail's, which ships no types.
    return items_live().public().filter(pk=item_id).only("pk", "title").first()  # type: ignore[attr-defined]


@transaction.atomic
def saved_add(*, request: HttpRequest, item_id: int) -> tuple[ItemPage, bool]:
    """Save an item for the shopper of `request`. Returns it, and whether it was added (False:
    it was saved already). Raises SavedError (not found, list full)."""
    item = saveable_item(item_id=item_id)
    if item is None:
        raise SavedError(Code.ITEM_NOT_FOUND)
    user = request.user
    if user.is_authenticated:
        if SavedItem.objects.filter(user=user, item=item).exists():
            return item, False
        if SavedItem.objects.filter(user=user).count() >= SAVED_LIMIT:
            raise SavedError(Code.LIST_FULL, limit=SAVED_LIMIT)
        try:
            with transaction.atomic():
                SavedItem.objects.create(user=user, item=item)
        except IntegrityError:  # the same item saved twice at once (double click)
            pass
        return item, True
    ids = session_saved_ids(request.session)
    if item.pk in ids:
        return item, False
    if len(ids) >= SAVED_LIMIT:
        raise SavedError(Code.LIST_FULL, limit=SAVED_LIMIT)
    request.session[SAVED_SESSION_KEY] = [item.pk, *ids]
    return item, True


@transaction.atomic
def saved_remove(*, request: HttpRequest, item_id: int) -> bool:
    """Take an item off the shopper's list (whatever became of it); False if it was not on it."""
    user = request.user
    if user.is_authenticated:
        deleted, _ = SavedItem.objects.filter(user=user, item_id=item_id).delete()
        return bool(deleted)
    if SAVED_SESSION_KEY not in request.session:
        return False
    ids = session_saved_ids(request.session)
    if item_id not in ids:
        return False
    request.session[SAVED_SESSION_KEY] = [pk for pk in ids if pk != item_id]
    return True


@transaction.atomic
def saved_merge_into_account(*, user: "User", anonymous_ids: list[int] | None) -> int:
    """At sign-in, add what the shopper saved while signed out to the account's list.

    Every piece that still exists (sold or withdrawn ones too: the list shows them as sold),
    up to the list's limit; returns how many were added.
    """
    if not anonymous_ids or not isinstance(anonymous_ids, list):
        return 0
    wanted = [pk for pk in anonymous_ids if isinstance(pk, int)][:SAVED_LIMIT]
    have = set(SavedItem.objects.filter(user=user).values_list("item_id", flat=True))
    room = SAVED_LIMIT - len(have)
    existing = set(ItemPage.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    new = [pk for pk in wanted if pk in existing and pk not in have][: max(room, 0)]
    # Oldest first, so the newest anonymous save is also the account's newest.
    now = timezone.now()
    rows = [
        SavedItem(user=user, item_id=pk, created_at=now - timedelta(microseconds=index))
        for index, pk in enumerate(new)
    ]
    SavedItem.objects.bulk_create(rows, ignore_conflicts=True)
    forget_account_saved_ids(user_id=user.pk)  # bulk_create sends no signals
    return len(rows)


@transaction.atomic
def price_alert_set(*, user: "User", item_id: int, enabled: bool) -> SavedItem:
    """Turn the price-drop email for one saved piece on or off; returns the saved row.

    Only for a verified address; turning it on starts from today's price. Raises SavedError.
    """
    row = SavedItem.objects.select_for_update().filter(user=user, item_id=item_id).first()
    if row is None:
        raise SavedError(Code.NOT_SAVED)
    if not enabled:
        if row.price_alert:
            row.price_alert = False
            row.save(update_fields=["price_alert"])
        return row
    if not (user.email and user.email_verified):
        raise SavedError(Code.EMAIL_UNVERIFIED)
    item = items_live().filter(pk=item_id).only("pk", "price", "quantity").first()
    if item is None or item.is_sold:
        raise SavedError(Code.ITEM_SOLD)
    if not row.price_alert:
        row.price_alert = True
        row.alert_price = item.price
        row.save(update_fields=["price_alert", "alert_price"])
    return row


def price_alert_unsubscribe(*, token: str) -> SavedItem | None:
    """Turn one price-drop alert off from its emailed link; idempotent, no sign-in needed.

    Raises tokens.InvalidToken. Returns the saved row, or None if it no longer exists.
    """
    saved_item_id, user_id = tokens.read_price_alert_token(token)
    updated = SavedItem.objects.filter(pk=saved_item_id, user_id=user_id).update(price_alert=False)
    if not updated:
        return None
    return SavedItem.objects.select_related("item").get(pk=saved_item_id)


@transaction.atomic
def price_drop_alerts_queue(*, item: ItemPage) -> int:
    """After a publish: one email to each opted-in saver for whom the price is a new low.

    Each row's `alert_price` moves down to the new price, so publishing the same or a higher
    price again sends nothing, and every actual drop is announced once. Sold or withdrawn
    pieces send nothing. Returns the number of emails queued (sent after commit).
    """
    if not item.live or item.is_sold or not items_live().filter(pk=item.pk).exists():
        return 0  # sold, or off the site (its shop is closed): its link would lead nowhere
    rows = list(price_alert_recipients(item=item).select_for_update(of=("self",)).order_by("pk"))
    if not rows:
        return 0
    alerts = [(row.pk, str(row.alert_price)) for row in rows]
    SavedItem.objects.filter(pk__in=[row.pk for row in rows]).update(alert_price=item.price)
    new_price = str(item.price)
    for pk, old_price in alerts:
        emails.send_price_drop(saved_item_id=pk, old_price=old_price, new_price=new_price)
    return len(alerts)


@transaction.atomic
def saved_erase(*, user: "User") -> int:
    """Account erasure: the saved list goes with the rest of the personal data."""
    deleted, _ = SavedItem.objects.filter(user=user).delete()
    return deleted
