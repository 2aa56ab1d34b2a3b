"""Query-string filters of the read API. Each parameter is parsed into a typed value and turned
into a fixed ORM condition here: no parameter name or value reaches `filter(**...)` as given.
A malformed value is a 400 with a message saying what is expected, never a 500."""

import re
from decimal import Decimal

from django.db.models import Q

from wagtail.api.v2.utils import BadRequestError

from rest_framework.filters import BaseFilterBackend

from products.models import Category, Designer, ItemPage
from products.selectors import for_sale_now, in_shop
from products.text_search import text_matches
from vendors.models import ShopPage

ID_RE = re.compile(r"^[1-9][0-9]{0,17}$")  # fits a 64-bit integer column
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,120}$")
PRICE_RE = re.compile(r"^[0-9]{1,8}(\.[0-9]{1,2})?$")  # ItemPage.price: 10 digits, 2 places
MAX_SEARCH_LENGTH = 200
MAX_ORDER_TERMS = 3
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def id_or_slug(request, name: str) -> tuple[str, int | str] | None:
    """`?name=12` or `?name=some-slug`: ("pk", 12) or ("slug", "some-slug"). A value of digits
    only is an id."""
    if name not in request.GET:
        return None
    value = request.GET[name].strip()
    if value.isascii() and value.isdigit():
        if ID_RE.match(value):
            return "pk", int(value)
    elif SLUG_RE.match(value):
        return "slug", value
    raise BadRequestError(f"{name} must be an id (a positive integer) or a slug")


def related(relation: str, reference: tuple[str, int | str]) -> Q:
    """The condition on `relation` (a path such as "designer" or "category__parent", or "" for
    the object itself) for a parsed `id_or_slug` reference."""
    lookup, value = reference
    prefix = f"{relation}__" if relation else ""
    return Q(**{f"{prefix}{lookup}": value})


def choice(request, name: str, choices: list[str]) -> str | None:
    if name not in request.GET:
        return None
    value = request.GET[name]
    if value not in choices:
        raise BadRequestError(f"{name} must be one of: {', '.join(choices)}")
    return value


def boolean(request, name: str) -> bool | None:
    if name not in request.GET:
        return None
    value = request.GET[name].strip().lower()
    if value not in BOOLEANS:
        raise BadRequestError(f"{name} must be true or false")
    return BOOLEANS[value]


def price(request, name: str) -> Decimal | None:
    if name not in request.GET:
        return None
    value = request.GET[name].strip()
    if not PRICE_RE.match(value):
        raise BadRequestError(f"{name} must be an amount such as 120 or 99.50")
    return Decimal(value)


def search_terms(request) -> str:
    """The search text with control characters as spaces, cut to a sane length."""
    raw = request.GET.get("search", "")[: MAX_SEARCH_LENGTH * 2]
    cleaned = "".join(ch if ch.isprintable() else " " for ch in raw)
    return " ".join(cleaned.split())[:MAX_SEARCH_LENGTH]


class ItemFilter(BaseFilterBackend):
    """designer, shop, category (a parent category includes its sub-categories), condition,
    available, min_price, max_price and search."""

    parameters = (
        "designer",
        "shop",
        "category",
        "condition",
        "available",
        "min_price",
        "max_price",
        "search",
    )

    def filter_queryset(self, request, queryset, view):
        # Designers and categories as id subqueries, not joins: the items query keeps a plan
        # that follows the sort order's index.
        designer = id_or_slug(request, "designer")
        if designer is not None:
            designers = Designer.objects.filter(related("", designer)).values("pk")
            queryset = queryset.filter(designer_id__in=designers)
        category = id_or_slug(request, "category")
        if category is not None:
            categories = Category.objects.filter(
                related("", category) | related("parent", category)
            ).values("pk")
            queryset = queryset.filter(category_id__in=categories)
        shop_reference = id_or_slug(request, "shop")
        if shop_reference is not None:
            # Items of hidden shops are not in `queryset` at all: any shop will do here.
            shops = ShopPage.objects.filter(related("", shop_reference))
            shop = shops.only("path", "depth").first()
            queryset = queryset.filter(in_shop(shop)) if shop else queryset.none()
        condition = choice(request, "condition", list(ItemPage.Condition.values))
        if condition is not None:
            queryset = queryset.filter(condition=condition)
        available = boolean(request, "available")
        if available is not None:
            # Reserved pieces (held by a checkout in progress) are not available, nor sold.
            queryset = queryset.filter(for_sale_now() if available else ~for_sale_now())
        min_price, max_price = price(request, "min_price"), price(request, "max_price")
        if min_price is not None:
            queryset = queryset.filter(price__gte=min_price)
        if max_price is not None:
            queryset = queryset.filter(price__lte=max_price)
        terms = search_terms(request)
        if terms:
            queryset = text_matches(queryset, terms)
        return queryset


class ShopFilter(BaseFilterBackend):
    """slug and city (exact, case-insensitive)."""

    parameters = ("slug", "city")

    def filter_queryset(self, request, queryset, view):
        if "slug" in request.GET:
            slug = request.GET["slug"].strip()
            if not SLUG_RE.match(slug):
                raise BadRequestError("slug must be letters, digits, hyphens or underscores")
            queryset = queryset.filter(slug=slug)
        if "city" in request.GET:
            city = request.GET["city"].strip()
            if not city or len(city) > 80 or not city.isprintable():
                raise BadRequestError("city must be a city name of at most 80 characters")
            queryset = queryset.filter(city__iexact=city)
        return queryset


class DesignerFilter(BaseFilterBackend):
    """slug."""

    parameters = ("slug",)

    def filter_queryset(self, request, queryset, view):
        if "slug" in request.GET:
            slug = request.GET["slug"].strip()
            if not SLUG_RE.match(slug):
                raise BadRequestError("slug must be letters, digits, hyphens or underscores")
            queryset = queryset.filter(slug=slug)
        return queryset


class AllowlistOrdering(BaseFilterBackend):
    """`?order=price` / `?order=-price,title`: only the view's `order_fields`, ties broken by id
    so that offset pages never overlap. Without `order`, the view's `default_order`."""

    parameters = ("order",)

    def filter_queryset(self, request, queryset, view):
        raw = request.GET.get("order")
        if raw is None:
            terms = list(view.default_order)
        else:
            terms = [term.strip() for term in raw.split(",")]
            if len(terms) > MAX_ORDER_TERMS:
                raise BadRequestError(f"order takes at most {MAX_ORDER_TERMS} fields")
            allowed = ", ".join(view.order_fields)
            for term in terms:
                if term.removeprefix("-") not in view.order_fields:
                    raise BadRequestError(f"cannot order by '{term}': choose from {allowed}")
        if not any(term.removeprefix("-") == "id" for term in terms):
            terms.append("-id" if terms and terms[0].startswith("-") else "id")
        # The public names, mapped to the view's indexed columns where it has them.
        columns = {"id": "pk", **getattr(view, "order_columns", {})}

        def column(term: str) -> str:
            name = term.removeprefix("-")
            return term[: len(term) - len(name)] + columns.get(name, name)

        return queryset.order_by(*map(column, terms))
