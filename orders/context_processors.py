from . import selectors
from .services import CART_SESSION_KEY


def cart(request) -> dict:
    """`cart_count` for the header, computed only if a template asks for it."""
    return {
        "cart_count": lambda: selectors.cart_count(
            cart_id=request.session.get(CART_SESSION_KEY), user=request.user
        )
    }
