"""The saved list in the data export, and gone with an erased account."""

import json

import pytest

from privacy import services as privacy_services
from saved.models import SavedItem

pytestmark = pytest.mark.django_db


def test_export_includes_the_saved_list(signed_in, shopper, tote, clutch):
    SavedItem.objects.create(user=shopper, item=tote, price_alert=True, alert_price=tote.price)
    SavedItem.objects.create(user=shopper, item=clutch)
    clutch.unpublish()
    data = json.loads(signed_in.get("/account/export/").content)
    by_title = {row["title"]: row for row in data["saved_items"]}
    assert by_title["Cognac leather tote"]["price_drop_alert"] is True
    assert by_title["Cognac leather tote"]["url"] == f"http://testserver{tote.url}"
    assert by_title["Ivory silk clutch"]["url"] == ""
    assert all(row["saved_at"] for row in data["saved_items"])


def test_export_holds_nobody_elses_saved_items(signed_in, unverified, tote):
    SavedItem.objects.create(user=unverified, item=tote)
    assert json.loads(signed_in.get("/account/export/").content)["saved_items"] == []


def test_erasure_clears_the_saved_list(shopper, unverified, tote):
    SavedItem.objects.create(user=shopper, item=tote, price_alert=True, alert_price=tote.price)
    SavedItem.objects.create(user=unverified, item=tote)
    privacy_services.account_erase(user=shopper)
    privacy_services.account_erase(user=shopper)  # can run twice
    assert list(SavedItem.objects.values_list("user", flat=True)) == [unverified.pk]
