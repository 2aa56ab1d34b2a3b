"""Money: Decimal in, integer minor units out for Stripe, "£1,250.00" on the page; never floats,
never sub-penny."""

from decimal import Decimal

from django.template import Context, Template

import pytest

from marketplace.money import (
    commission_on,
    format_money,
    from_minor_units,
    quantize,
    to_minor_units,
)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.34", "GBP", 1234),
        ("12.34", "gbp", 1234),
        ("0.01", "GBP", 1),
        ("1250", "GBP", 125000),
        ("1250.00", "EUR", 125000),
        ("1234", "JPY", 1234),
        ("1234.00", "JPY", 1234),
        ("5000", "KRW", 5000),
        ("0", "GBP", 0),
    ],
)
def test_to_minor_units(amount, currency, minor):
    result = to_minor_units(Decimal(amount), currency)
    assert result == minor and type(result) is int
    assert from_minor_units(result, currency) == Decimal(amount)


@pytest.mark.parametrize("amount", [12.34, 12, "12.34"])
def test_to_minor_units_refuses_anything_but_decimal(amount):
    with pytest.raises(TypeError):
        to_minor_units(amount, "GBP")


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("12.345", "GBP"), ("0.001", "GBP"), ("1234.5", "JPY"), ("0.10", "JPY")],
)
def test_to_minor_units_refuses_sub_unit_fractions(amount, currency):
    with pytest.raises(ValueError, match="more precision"):
        to_minor_units(Decimal(amount), currency)


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        ("187.5", "187.50"),
        ("0.005", "0.01"),  # half up, not banker's rounding (which gives 0.00)
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # banker's would give 0.02
        ("2.344", "2.34"),
        ("2.345", "2.35"),
        ("-2.345", "-2.35"),  # half away from zero
        ("10", "10.00"),
    ],
)
def test_quantize_rounds_half_up_to_pennies(amount, rounded):
    result = quantize(Decimal(amount))
    assert result == Decimal(rounded)
    assert str(result) == rounded  # always two places


def test_commission_on_odd_amounts_is_quantized_half_up():
    # 15% of £12.35 is £1.8525: the shop's commission is £1.85, never a float artefact.
    assert commission_on(Decimal("12.35"), Decimal("0.15")) == Decimal("1.85")
    assert commission_on(Decimal("0.10"), Decimal("0.15")) == Decimal("0.02")  # 0.015 → 0.02


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("1250"), None, "£1,250.00"),
        ("1250.005", "gbp", "£1,250.01"),  # half up, like quantize
        (Decimal("-2.5"), "EUR", "-€2.50"),
        (12, "USD", "$12.00"),
        (Decimal("1250"), "CHF", "1,250.00 CHF"),  # no symbol: the code after the amount
    ],
)
def test_format_money(value, currency, shown):
    assert format_money(value, currency) == shown


def test_format_money_uses_the_site_currency(settings):
    settings.VITRINE_CURRENCY = "EUR"
    assert format_money(Decimal("3")) == "€3.00"


@pytest.mark.parametrize("value", [None, "", "n/a", True, Decimal("NaN"), Decimal("Infinity")])
def test_format_money_of_anything_but_a_number_is_empty(value):
    assert format_money(value) == ""


def test_the_money_filter_renders_format_money():
    template = Template("{% load vitrine_tags %}{{ amount|money }} {{ amount|money:'CHF' }}")
    assert template.render(Context({"amount": Decimal("9.5")})) == "£9.50 9.50 CHF"
