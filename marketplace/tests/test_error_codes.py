"""One error convention (marketplace.errors): services raise codes, and each app's
`error_messages` module alone turns them into words."""

import ast
from enum import StrEnum
from pathlib import Path

from django.conf import settings

import pytest

from orders import error_messages as order_words
from orders.errors import (
    HoldRefused,
    ItemNotBuyable,
    ItemsUnavailable,
    OrderErrorCode,
    PayLinkInvalid,
    TransitionNotAllowed,
)
from orders.models import VendorOrder
from policies import error_messages as policy_words
from policies import errors as policy_errors
from policies.errors import PolicyErrorCode
from products import error_messages as product_words
from products.errors import ProductErrorCode, StockNotAllowed
from saved import error_messages as saved_words
from saved.errors import SavedError, SavedErrorCode

WORDINGS = [
    (OrderErrorCode, order_words.ERROR_MESSAGES),
    (SavedErrorCode, saved_words.ERROR_MESSAGES),
    (PolicyErrorCode, policy_words.ERROR_MESSAGES),
    (ProductErrorCode, product_words.ERROR_MESSAGES),
]


@pytest.mark.parametrize(
    ("codes", "words"), WORDINGS, ids=lambda value: getattr(value, "__name__", "")
)
def test_every_code_has_words(codes: type[StrEnum], words: dict) -> None:
    assert set(words) == set(codes)


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (ItemNotBuyable(OrderErrorCode.ITEM_SOLD, title="Scarf"), "“Scarf” has sold."),
        (ItemsUnavailable(["Scarf"]), "Sorry, “Scarf” has just sold."),
        (
            ItemsUnavailable(["Scarf", "Tote"], missing=1),
            "Sorry, these have just sold: “Scarf”, “Tote”, a piece.",
        ),
        (HoldRefused(OrderErrorCode.TOO_MANY_PIECES, limit=3), "at most 3 pieces at once"),
        (
            TransitionNotAllowed(
                current=VendorOrder.Status.SHIPPED, wanted=VendorOrder.Status.PAID
            ),
            "A shipped order cannot become paid",
        ),
        (PayLinkInvalid(OrderErrorCode.PAY_LINK_USED), "This payment link has already been used."),
    ],
)
def test_an_order_error_is_worded_from_its_code_and_params(error, said) -> None:
    assert said in order_words.error_message(error)


def test_a_piece_taken_out_of_a_cart_says_so() -> None:
    notice = ItemNotBuyable(OrderErrorCode.ITEM_WITHDRAWN, title="Scarf")
    assert order_words.removed_from_cart_message(notice) == (
        "“Scarf” is no longer for sale and was removed from your cart."
    )
    closed = ItemNotBuyable(OrderErrorCode.SHOP_CLOSED, title="Scarf")
    assert order_words.removed_from_cart_message(closed) == order_words.error_message(closed)


def test_the_other_apps_word_their_codes() -> None:
    assert saved_words.error_message(SavedError(SavedErrorCode.LIST_FULL, limit=200)) == (
        "Your saved list is full (200 pieces). Remove a piece you no longer want to save another."
    )
    assert policy_words.error_message(
        policy_errors.TestimonialLinkInvalid(PolicyErrorCode.LINK_EXPIRED)
    ) == ("This link has expired.")
    below = StockNotAllowed(ProductErrorCode.STOCK_BELOW_HELD, maximum=9999, held=2)
    assert product_words.error_message(below).startswith("2 held by shoppers")


def test_an_error_names_its_code_and_facts_for_the_logs_not_a_sentence() -> None:
    assert str(HoldRefused(OrderErrorCode.NETWORK_BUSY, limit=6)) == "network_busy (limit=6)"


# --- No service writes words for a person ----------------------------------------------------

# Errors a service raises for a programmer (a wrong call), never shown to a person.
PROGRAMMER_ERRORS = {"ValueError", "TypeError", "AssertionError", "DoesNotExist", "InvalidToken"}


def _service_modules() -> list[Path]:
    base = Path(settings.BASE_DIR)
    apps = ["accounts", "home", "orders", "policies", "products", "saved", "vendors"]
    files = [base / app / "services.py" for app in apps]
    files += sorted((base / "orders" / "services").glob("*.py")) + [
        base / "orders" / "stripe_api.py"
    ]
    return [path for path in files if path.exists()]


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, {} for the values
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    return None


def _sentences(node: ast.AST) -> list[str]:
    """Strings under `node` that read as words for a person: capitalised (or opening on a
    quoted title) and more than a word. Codes and log details (`order X is paid`) are not."""
    found = []
    for child in ast.walk(node):
        text = _text(child)
        if text and " " in text.strip() and (text[0].isupper() or text[0] == "“"):
            found.append(text)
    return found


def _raised_name(node: ast.Raise) -> str:
    call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return call.attr if isinstance(call, ast.Attribute) else getattr(call, "id", "")


def test_no_service_returns_or_raises_a_sentence() -> None:
    offending = []
    for path in _service_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Return) and node.value is not None:
                offending += [(path.name, node.lineno, text) for text in _sentences(node.value)]
            elif isinstance(node, ast.Raise) and node.exc is not None:
                if _raised_name(node) not in PROGRAMMER_ERRORS:
                    offending += [(path.name, node.lineno, text) for text in _sentences(node.exc)]
    assert offending == []


def test_the_check_finds_a_sentence() -> None:
    tree = ast.parse('def f(t):\n    return False, f"“{t}” is sold.", "order {t} is paid"\n')
    assert _sentences(tree.body[0].body[0].value) == ["“{}” is sold."]
