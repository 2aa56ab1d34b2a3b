"""Money is Decimal in the site currency: rounded to pennies, shown as "£1,250.00", and
sent to Stripe as integers in minor units. The one place for money helpers.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
CENT = Decimal("0.01")

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
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def commission_on(subtotal: Decimal, rate: Decimal) -> Decimal:
    """The site's commission on a shop's subtotal at the shop's rate, in pennies."""
    return quantize(Decimal(subtotal) * Decimal(rate))


def _to_decimal(value) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        # str() first: a float (never expected) is read as its shortest repr, not its binary value.
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def format_money(value, currency: str | None = None) -> str:
    """`Decimal("1250")` → "£1,250.00" in the site currency (`settings.VITRINE_CURRENCY`).

    GBP, EUR and USD get their symbol in front; any other currency code goes after the amount:
    "1,250.00 CHF". Anything that is not a number gives an empty string.
    """
    amount = _to_decimal(value)
    if amount is None or not amount.is_finite():
        return ""
    code = (currency or getattr(settings, "VITRINE_CURRENCY", "GBP") or "GBP").upper()
    amount = quantize(amount)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {code}"
