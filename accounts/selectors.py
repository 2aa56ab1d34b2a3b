"""Reads for accounts: a shopper's own addresses (never anyone else's), consents, access log,
newsletter recipients and the customer list for customer service."""

from django.db.models import Q, QuerySet

from .models import Address, ConsentRecord, PiiAccessLog, User


def addresses_for_user(*, user: User) -> QuerySet[Address]:
    return Address.objects.filter(user=user)


def address_for_user(*, user: User, address_id: int | str) -> Address | None:
    """The user's own address with this id, or None (also for someone else's id)."""
    return Address.objects.filter(user=user, pk=address_id).first()


def consents_for_user(*, user: User) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(user=user)


def access_log_for_user(*, user: User) -> QuerySet[PiiAccessLog]:
    return PiiAccessLog.objects.filter(customer=user)


def newsletter_recipients(*, topic: str = "promotional_emails") -> QuerySet[User]:
    """Active accounts that opted in to `topic` and whose address is verified."""
    opted_in = {
        "promotional_emails": Q(promotional_emails=True),
        "catalogue_mailings": Q(catalogue_mailings=True),
    }
    if topic not in opted_in:
        raise ValueError(f"not a mailing topic: {topic}")
    return (
        User.objects.filter(opted_in[topic], is_active=True, erased_at__isnull=True)
        .filter(email_verified_at__isnull=False)
        .exclude(email="")
        .order_by("pk")
    )


def customers() -> QuerySet[User]:
    """Shopper accounts (not staff) for customer service, newest first."""
    return User.objects.filter(is_staff=False, is_superuser=False).order_by("-date_joined", "-pk")
