"""Money is Decimal in the site currency; Stripe wants integers in minor units."""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies Stripe treats as having no minor unit.
ZERO_DECIMAL_CURRENCIES = {
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
}  # fmt: skip


def to_minor_units(amount: Decimal, currency: str) -> int:
    """£12.34 → 1234; ¥1234 → 1234. Refuses floats and sub-unit fractions."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    exponent = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} {currency} has more precision than the currency allows")
    return int(minor)


def from_minor_units(amount: int, currency: str) -> Decimal:
    exponent = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    return Decimal(amount).scaleb(-exponent)


def quantize(amount: Decimal) -> Decimal:
    """Round to pennies, half up, as shops and accountants expect."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def commission_on(subtotal: Decimal, rate: Decimal) -> Decimal:
    """The site's commission on a shop's subtotal at the shop's rate, in pennies."""
    return quantize(Decimal(subtotal) * Decimal(rate))
