"""Reads of saved lists: the saved state of a page of cards (one query at most), the list
pages (a constant number of queries) and the data export."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.core.paginator import Page as PaginatorPage
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from products.models import ItemPage
from products.selectors import hidden_sections, paginate_ids

from .models import SavedItem

if TYPE_CHECKING:
    from accounts.models import User

SAVED_SESSION_KEY = "saved_items"
REQUEST_CACHE_ATTR = "_saved_item_ids"


def session_saved_ids(session: SessionBase) -> list[int]:
    """The anonymous list kept in the session, newest first (ids only, never trusted blindly)."""
    ids = session.get(SAVED_SESSION_KEY) or []
    return [value for value in ids if isinstance(value, int)] if isinstance(ids, list) else []


def saved_ids_ordered(*, request: HttpRequest) -> list[int]:
    """The shopper's saved item ids, newest first: the account's rows or the session's list."""
    user = request.user
    if user.is_authenticated:
        return account_saved_ids(user_id=user.pk)
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return []
    return session_saved_ids(request.session)


def _account_key(user_id: int) -> str:
    return f"saved-ids:{user_id}"


def account_saved_ids(*, user_id: int) -> list[int]:
    """An account's saved item ids, newest first, kept in the cache until the list changes
    (saved.signals): the hearts on a signed-in shopper's pages then cost no query."""
    ids = cache.get(_account_key(user_id))
    if ids is None:
        ids = list(SavedItem.objects.filter(user_id=user_id).values_list("item_id", flat=True))
        cache.set(_account_key(user_id), ids, 3600)
    return ids


def forget_account_saved_ids(*, user_id: int) -> None:
    """Drop the cached ids now and again at commit: a read in between still sees the old rows."""
    cache.delete(_account_key(user_id))
    transaction.on_commit(lambda: cache.delete(_account_key(user_id)))


def saved_item_ids(request: HttpRequest | None) -> frozenset[int]:
    """Which items this shopper has saved, for the hearts on a page of cards.

    Remembered on the request, so a page of any number of cards costs one query at most for a
    signed-in shopper (none while their list is cached), none for an anonymous one (the
    session is already loaded, or, without a session cookie, never touched).
    """
    if request is None:
        return frozenset()
    cached = getattr(request, REQUEST_CACHE_ATTR, None)
    if cached is None:
        if not request.COOKIES:
            cached = frozenset()  # a first-time visitor: nothing saved, session untouched
        else:
            cached = frozenset(saved_ids_ordered(request=request))
        setattr(request, REQUEST_CACHE_ATTR, cached)
    return cached


@dataclass
class SavedList:
    items_page: PaginatorPage
    # item id → SavedItem (signed-in shoppers only; also set as each card's `saved_row`).
    rows: dict[int, SavedItem] = field(default_factory=dict)
    can_alert: bool = False

    @property
    def count(self) -> int:
        return self.items_page.paginator.count


def saved_list(*, request: HttpRequest) -> SavedList:
    """A page of the shopper's saved pieces as item cards, newest saved first.

    Sold pieces stay (shown as sold), and so do unpublished ones and those of a shop not taking
    orders (shown as unavailable); deleted ones are gone.
    Five queries at most whatever the number of items: the list (and for a session list,
    which of its pieces still exist), the page's items, their shops and their pictures with
    renditions.
    """
    user = request.user
    rows = {}
    if user.is_authenticated:
        rows = {
            row.item_id: row
            for row in SavedItem.objects.filter(user=user).only(
                "item_id", "price_alert", "alert_price", "created_at"
            )
        }
        ids = list(rows)
    else:
        ids = saved_ids_ordered(request=request)
        if ids:  # a deleted piece leaves its id in the session: count only those that exist
            existing = set(ItemPage.objects.filter(pk__in=ids).values_list("pk", flat=True))
            ids = [pk for pk in ids if pk in existing]
    page = paginate_ids(request, ids)
    hidden = hidden_sections()
    for item in page.object_list:
        item.saved_row = rows.get(item.pk)
        if any(item.path.startswith(path) for path in hidden):
            # Its shop is unpublished or not taking orders (vendor suspended), or its section
            # private: it is listed nowhere and cannot be bought, so the card shows it as
            # unavailable (no link, no cart), as for an unpublished piece. It comes back
            # as it was when the shop reopens. Display only: never saved.
            item.live = False
    return SavedList(
        items_page=page,
        rows=rows,
        can_alert=bool(user.is_authenticated and user.email_verified and user.email),
    )


def price_alert_recipients(*, item: ItemPage) -> QuerySet[SavedItem]:
    """Saved rows whose shopper asked to hear of a lower price and for whom the item's
    current price is below the last one they heard of (verified, active accounts only)."""
    return SavedItem.objects.filter(
        item=item,
        price_alert=True,
        alert_price__gt=item.price,
        user__is_active=True,
        user__email_verified_at__isnull=False,
    ).exclude(user__email="")


def saved_items_export(*, user: "User") -> list[dict[str, Any]]:
    """The account's saved list for the data export."""
    return [
        {
            "title": row.item.title,
            "url": f"{settings.WAGTAILADMIN_BASE_URL}{row.item.url}" if row.item.live else "",
            "saved_at": row.created_at.isoformat(),
            "price_drop_alert": row.price_alert,
        }
        for row in SavedItem.objects.filter(user=user).select_related("item")
    ]
