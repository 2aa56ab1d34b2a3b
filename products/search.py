"""Item search with filters and facet counts (`/search/`).

A search reads the search rows (products.listing: one narrow row per live piece, its shop,
category parent and, on PostgreSQL, its text copied in): matching (products.text_search),
filters, facet counts and sorts, with no join. A search for words reads their matches once
(products.matches: kept, and caught up with each publish or withdrawal by reading just the
rows it changed) and counts and sorts them in Python, whatever its filters; so does a search
without words, over every piece. Words matching too many pieces to keep, and every piece of
a catalogue too large to keep, are counted and sorted by the database. The cards of the page
shown are read by id.
"""

import hashlib
import operator
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, reduce

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page as PaginatorPage
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Value
from django.http import HttpRequest, QueryDict

from marketplace.page_cache import SHOPS, kept_behind, kept_in_process, memoised

from . import matches as matches_module
from . import selectors, text_search
from .cache import LISTED
from .matches import Criteria, Matches, Selection, caught_up
from .matches import find as find_matches
from .matches import find_each as find_matches_each
from .models import ItemPage
from .selectors import ShopRef
from .text_search import RankedIds, normalised, text_matches, vectors_kept

MAX_QUERY_LENGTH = 200  # longer queries are cut, not refused
SLUG_RE = re.compile(r"^[-a-z0-9_]{1,120}$")
SORTS = {
    "relevance": "Best match",
    "newest": "Newest",
    "price_asc": "Price, low to high",
    "price_desc": "Price, high to low",
}
CONDITION_ORDER = list(ItemPage.Condition.values)  # best first
ORDER_BY = {
    "newest": ("-listed_at", "-item_id"),
    "price_asc": ("price", "item_id"),
    "price_desc": ("-price", "-item_id"),
}


def _slug(value: str | None) -> str:
    value = (value or "").strip().lower()
    return value if SLUG_RE.match(value) else ""


@dataclass(frozen=True)
class SearchFilters:
    """The shopper's query, cleaned: anything unknown or malformed is dropped, never an error."""

    q: str = ""
    designer: str = ""
    category: str = ""
    condition: str = ""
    shop: str = ""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    sort: str = "newest"

    @classmethod
    def from_querydict(cls, data: QueryDict) -> "SearchFilters":
        raw = (data.get("q") or "")[: MAX_QUERY_LENGTH * 2]
        # Control characters (NUL above all: PostgreSQL refuses it) become spaces.
        raw = "".join(ch if ch.isprintable() else " " for ch in raw)
        q = " ".join(raw.split())[:MAX_QUERY_LENGTH]
        condition = data.get("condition") or ""
        sort = data.get("sort") or ""
        if sort not in SORTS or (sort == "relevance" and not q):
            sort = "relevance" if q else "newest"
        return cls(
            q=q,
            designer=_slug(data.get("designer")),
            category=_slug(data.get("category")),
            condition=condition if condition in ItemPage.Condition.values else "",
            shop=_slug(data.get("shop")),
            min_price=selectors.parse_decimal(data.get("min_price")),
            max_price=selectors.parse_decimal(data.get("max_price")),
            sort=sort,
        )

    @property
    def is_empty(self) -> bool:
        return not any([self.q, self.designer, self.category, self.condition, self.shop]) and (
            self.min_price is None and self.max_price is None
        )


@dataclass
class SearchResult:
    filters: SearchFilters
    page: PaginatorPage
    facets: dict[str, list[dict]] = field(default_factory=dict)
    shops: Sequence[ShopRef] = ()


def _filter_conditions(criteria: Criteria) -> dict[str, Q]:
    """The filters as the database reads them (the kept matches read `criteria` themselves):
    one Q per facet, so each facet can be counted with every other filter applied."""
    conditions: dict[str, Q] = {}
    nothing = Q(pk__in=[])
    if (designer := criteria.designer) is not None:
        conditions["designer"] = Q(designer_id=designer) if designer else nothing
    if (category := criteria.category) is not None:
        conditions["category"] = (
            Q(category_id=category) | Q(category_parent_id=category) if category else nothing
        )
    if criteria.condition is not None:
        conditions["condition"] = Q(condition=criteria.condition)
    if (shop := criteria.shop) is not None:
        conditions["shop"] = Q(shop_path=shop) if shop else nothing
    price = Q()
    if criteria.min_cents is not None:
        price &= Q(price__gte=Decimal(criteria.min_cents).scaleb(-2))
    if criteria.max_cents is not None:
        price &= Q(price__lte=Decimal(criteria.max_cents).scaleb(-2))
    if price:
        conditions["price"] = price
    return conditions


def _apply(queryset: QuerySet, conditions: dict[str, Q], *, without: str = "") -> QuerySet:
    for name, condition in conditions.items():
        if name != without:
            queryset = queryset.filter(condition)
    return queryset


def item_search(*, request: HttpRequest, filters: SearchFilters) -> SearchResult:
    shops_list = selectors.shop_refs()
    shops = {shop.slug: shop for shop in shops_list}
    # Read once a search: the filters, the counts and the chosen filters all name them.
    designers, categories = selectors.designer_names(), selectors.category_names()
    criteria = _criteria(filters, shops, designers, categories)
    conditions = _filter_conditions(criteria)

    @cache
    def matching_rows() -> QuerySet:  # built only when what is kept of it is not, then once
        base = selectors.search_rows()
        return text_matches(base, filters.q) if filters.q else base

    @cache
    def selected() -> Selection | None:
        """The kept matches through the filters; None: the database counts and sorts."""
        found = _kept_matches(filters.q or None)
        return None if found is None else found.select(criteria)

    def count() -> dict:
        selection = selected()
        if selection is not None:
            return _facets(selection.total, selection.counts(), shops_list, designers, categories)
        return _count(
            matching_rows().filter(conditions.get("price", Q())),
            filters,
            shops_list,
            conditions,
            designers,
            categories,
        )

    key = _cache_key(filters)  # of what is counted and listed: the sort is not in it
    counted = memoised(f"search:{key}", count, tags=[LISTED, SHOPS], timeout=INDEX_LAG_SECONDS)
    kept = selectors.Kept(
        f"search:{key}:{filters.sort}", [LISTED, SHOPS], timeout=INDEX_LAG_SECONDS
    )

    def ids(index: slice) -> list[int]:
        """A page's ids in the sort's order: from the kept matches when there are, or else
        from the database."""
        selection = selected()
        if selection is not None:
            start, stop, _ = index.indices(selection.total)
            return selection.ids(filters.sort, start, stop)
        if filters.sort == "relevance":
            ranked = RankedIds(_apply(matching_rows(), conditions), filters.q, counted["total"])
            return ranked[index]
        return list(listing().values_list("pk", flat=True)[index])

    def listing() -> QuerySet:
        rows = selectors.search_rows()
        if filters.q:
            # SQLite is told whether to walk the sort's index; PostgreSQL's planner decides.
            probe = not vectors_kept() and _probe(request, counted["total"], _walked(filters))
            rows = text_matches(rows, filters.q, probe=probe)
        return _apply(rows, conditions).order_by(*ORDER_BY[filters.sort])

    page = selectors.paginate_ids(
        request,
        selectors.LazyIds(ids, lambda: counted["total"]),  # type: ignore[arg-type]
        count=counted["total"],
        kept=kept,
    )
    facets = counted["facets"]
    _keep_selected(facets, filters, shops, designers, categories)
    return SearchResult(filters=filters, page=page, facets=facets, shops=shops_list)


def _criteria(
    filters: SearchFilters, shops: dict[str, ShopRef], designers: dict, categories: dict
) -> Criteria:
    """The filters as ids, paths and cents, read once for the kept matches and the database
    (_filter_conditions) alike: a designer, category or shop not found matches nothing."""
    return Criteria(
        designer=selectors.id_by_slug(designers).get(filters.designer, 0)
        if filters.designer
        else None,
        category=selectors.id_by_slug(categories).get(filters.category, 0)
        if filters.category
        else None,
        condition=filters.condition or None,
        shop=(shops[filters.shop].path if filters.shop in shops else "") if filters.shop else None,
        min_cents=Criteria.cents(filters.min_price, up=True),
        max_cents=Criteria.cents(filters.max_price, up=False),
    )


def _kept_matches(
    terms: str | None,
    *,
    or_find: bool = True,
    found: Callable[[], Matches | None] | None = None,
    catch_up: bool = True,
) -> Matches | None:
    """The matches of `terms` (None: every piece), kept once per words and caught up with
    each publish; None when there are too many to keep, or they were last found less than
    REFIND_SECONDS ago (_find_matches), or (`or_find` False) they are not kept. `found`:
    what finding them gives, read already (with other words'). `catch_up` False: a value
    kept but behind is not caught up, but found again (or, not to be found, None)."""
    words = _words_key(terms)

    def find() -> Matches | None:
        if found is not None:
            return found()
        if not or_find:
            raise _NotFound
        return _find_matches(words, terms)

    def caught_up_now(kept: Matches | None) -> Matches | None:
        return None if kept is None else caught_up(kept, selectors.search_rows(), terms)

    try:
        return memoised(
            _MATCHES_PREFIX + words,
            find,
            tags=_MATCHES_TAGS,
            catch_up=caught_up_now if catch_up else None,
            catch_up_on=[LISTED],
            in_process=True,  # 4 MB for every piece of 100,000; 41 of a million
            # Caught up exactly on PostgreSQL (rows keep their text), and every piece's
            # anywhere (no text read); on SQLite the text index may lag behind a change
            # caught up with (CHANGE_LAG_SECONDS): words' are found again a minute on.
            timeout=KEPT_MATCHES_SECONDS if terms is None or vectors_kept() else INDEX_LAG_SECONDS,
        )
    except _NotFound:  # nothing memoised: the database counts and sorts meanwhile
        return None


_MATCHES_PREFIX = "search-matches:"
_MATCHES_TAGS = [LISTED, SHOPS]


class _NotFound(Exception):
    """Raised instead of finding matches: nothing is memoised."""


def _find_matches(words: str, terms: str | None) -> Matches | None:
    """The matches of `terms` (None: every piece) to keep (None: too many to keep). Found
    again at most every REFIND_SECONDS (_NotFound: a search a few seconds later finds them
    again): matches lost again and again (a shop published, the cache full) would cost more
    to find than they save. Several words' are joined from each word's own (_joined). A
    word's take all but their ids and scores from every piece's, when this worker keeps
    those, current or caught up (never found for them)."""
    if terms is None and selectors.live_item_count() > matches_module.MAX_MATCHES:
        return None
    if not _may_find(words):
        raise _NotFound
    wanted = [] if terms is None else text_search.words(terms)
    if terms is not None and len(wanted) > 1 and (joined := _joined(terms, wanted)) is not None:
        return joined
    return find_matches(selectors.search_rows(), terms, every=_every_piece())


def _joined(terms: str, wanted: list[str]) -> Matches | None:
    """The matches of several words, joined from each word's own (matches.conjunction), in
    a few queries whatever the number of words: those this worker keeps taken as they are,
    their joining caught up once with the publishes since; the others taken from the cache,
    or found together in one query, and kept. A new search for common words, each asked
    before, reads no row. None: a word's are not to be had (too many to keep, found seconds ago
    elsewhere) or match nothing (also PostgreSQL's stop words, which match nothing alone):
    the database finds the words together."""
    each: dict[str, Matches | None] = {}
    behind = False
    for word in wanted:
        kept = kept_behind(_MATCHES_PREFIX + _words_key(word), tags=_MATCHES_TAGS,
                           behind_on=[LISTED])  # fmt: skip
        each[word] = None if kept is None else kept[0]
        behind |= kept is not None and not kept[1]
    joined = _join(each)
    if joined is not None and behind:
        joined = caught_up(joined, selectors.search_rows(), terms)
        if joined is None:  # too many changes since the words were found: found again
            joined = _join(dict.fromkeys(wanted))
    return joined


def _join(each: dict[str, Matches | None]) -> Matches | None:
    """The words' matches, `each` (None: taken from the cache when another worker kept them
    current, or else found, all in one query, and kept), joined; None where a word's are not
    to be had or match nothing (_joined)."""
    for word, matches in each.items():
        if matches is None:
            each[word] = _kept_matches(word, or_find=False, catch_up=False)
    missing = [word for word, matches in each.items() if matches is None]
    if missing:
        if not all(_may_find(_words_key(word)) for word in missing):
            return None
        rows, every = selectors.search_rows(), _every_piece()
        found = dict(zip(missing, find_matches_each(rows, missing, every=every), strict=True))
        for word in missing:
            each[word] = _kept_matches(word, found=lambda word=word: found[word], catch_up=False)
    joinable = [matches for matches in each.values() if matches]
    return matches_module.conjunction(joinable) if len(joinable) == len(each) else None


def _may_find(words: str) -> bool:
    """Whether this worker may find the matches of `words` (a _words_key) now: each is found
    at most every REFIND_SECONDS, by whichever worker asks first."""
    return shared_cache.add(f"search-matches-found:{words}", True, REFIND_SECONDS)


def _every_piece() -> Matches | None:
    """Every piece's matches, when this worker keeps them (current or caught up), for words'
    to take all but their ids and scores from; never found for them."""
    if not kept_in_process(_MATCHES_PREFIX + _words_key(None)):
        return None
    return _kept_matches(None, or_find=False)


def _words_key(terms: str | None) -> str:
    """The key of what `terms` match (None: every piece): two searches that find the same
    pieces share it."""
    if terms is None:
        return "every-piece"
    return hashlib.sha256(normalised(terms).encode()).hexdigest()[:32]


# A words' matches are found again at most this often (_find_matches).
REFIND_SECONDS = 10
# Kept matches unread this long are dropped (found again if asked for).
KEPT_MATCHES_SECONDS = 3600
# Search counts are kept until a piece is published or withdrawn (a sale changes none: search
# lists sold pieces too), but at most this long: the text index is updated by a background
# task, possibly after the publish that invalidated them.
INDEX_LAG_SECONDS = 60
# Probe the text index row by row, in sort order, when a page of results should turn up
# within this many rows; otherwise collect the (few) matches first and sort them.
PROBE_ROWS = 5000


def _probe(request: HttpRequest, matches: int, walked: int) -> bool:
    """Whether a page of `matches` turns up within PROBE_ROWS of the `walked` rows the
    sort's index goes through."""
    page = request.GET.get("page") or "1"
    page = int(page) if page.isdigit() and len(page) < 6 else 1
    rows_per_match = walked / max(matches, 1)
    return rows_per_match * page * settings.VITRINE_ITEMS_PER_PAGE <= PROBE_ROWS


def _walked(filters: SearchFilters) -> int:
    """The rows a sorted search walks: one designer's pieces when it asks for that designer's
    newest (the index listed_designer_newest_idx), otherwise every live piece."""
    if filters.sort == "newest" and filters.designer:
        designer_id = selectors.id_by_slug(selectors.designer_names()).get(filters.designer)
        if designer_id is None:
            return 0
        return selectors.designer_counts([designer_id])[designer_id][0]
    return selectors.live_item_count()


def _cache_key(filters: SearchFilters, *facets: str) -> str:
    """The text, the price range and the `facets` filters (by default all: what changes
    the counts, not the sort), hashed: the query may be long."""

    facets = facets or FACETS
    fields = (filters.q.lower(), filters.min_price, filters.max_price,
              *(getattr(filters, name) for name in facets))  # fmt: skip
    return hashlib.sha256(repr(fields).encode()).hexdigest()[:32]


FACETS = ("designer", "category", "condition", "shop")


def _count(
    base: QuerySet,
    filters: SearchFilters,
    shops_list: Sequence[ShopRef],
    conditions: dict[str, Q],
    designers: dict,
    categories: dict,
) -> dict:
    """Facet counts (each with every other filter applied) and the total. `base` is already
    narrowed by the price range, the one filter that is not a facet.

    Counted by the database in GROUP BY queries that return a few hundred rows whatever the
    number of matches (reading every match's columns into Python took seconds at a million
    pieces): by designer, category and condition (the shop filter applied), and by shop (the
    other filters applied). Designers and categories are named from `designers` and
    `categories` (selectors.designer_names() and category_names()).
    """
    kinds_filters = {n: q for n, q in conditions.items() if n == "shop"}
    shops_filters = {n: q for n, q in conditions.items() if n not in ("shop", "price")}
    both: dict[str, list] = {}

    def by_kind() -> list:
        if connection.vendor == "postgresql":
            # Most new searches miss both counts: one scan of the matches gives both.
            both.update(_kinds_and_shops(base, kinds_filters, shops_filters))
            return both["kinds"]
        return list(
            _apply(base, kinds_filters).order_by()
            .values_list("designer_id", "category_id", "condition").annotate(n=Count("pk"))
        )  # fmt: skip

    def by_shop() -> list:
        if "shops" in both:
            return both["shops"]
        return list(
            _apply(base, shops_filters).order_by().values_list("shop_path").annotate(n=Count("pk"))
        )

    # Each kept on its own, so that searches differing in the other filters share it: every
    # search for the same words and prices shares the first, whatever designer or category.
    kinds = memoised(
        f"search-kinds:{_cache_key(filters, 'shop')}",
        by_kind,
        tags=[LISTED, SHOPS],
        timeout=INDEX_LAG_SECONDS,
    )
    shops = memoised(
        f"search-shops:{_cache_key(filters, 'designer', 'category', 'condition')}",
        by_shop,
        tags=[LISTED, SHOPS],
        timeout=INDEX_LAG_SECONDS,
    )
    # A facet counts the pieces that pass every other facet's filter.
    tests = {
        "designer": lambda d, c, k: designers.get(d, ("",))[0] == filters.designer,
        "category": lambda d, c, k: filters.category in categories.get(c, ("", "", None))[::2],
        "condition": lambda d, c, k: k == filters.condition,
    }
    active = {name: test for name, test in tests.items() if getattr(filters, name)}
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    total = 0
    for d, c, k, n in kinds:
        failing = [name for name, test in active.items() if not test(d, c, k)]
        for name, key in (("designer", d), ("category", c), ("condition", k)):
            if not failing or failing == [name]:
                counts[name][key] += n
        total += n if not failing else 0
    for path, n in shops:
        counts["shop"][path] += n
    return _facets(total, counts, shops_list, designers, categories)


def _facets(
    total: int,
    counts: dict[str, Counter],
    shops_list: Sequence[ShopRef],
    designers: dict,
    categories: dict,
) -> dict:
    """The total and each facet's options, labelled and in order, from `counts` by designer
    id, category id, condition and shop path (`designers` and `categories`:
    selectors.designer_names() and category_names())."""

    def facet(name, names, order):
        return sorted(
            (
                {"value": names[value][0], "label": names[value][1], "count": n}
                for value, n in counts[name].items()
                if value in names
            ),
            key=order,
        )

    return {
        "total": total,
        "facets": {
            "designer": facet("designer", designers, lambda r: r["label"]),
            "category": facet("category", categories, lambda r: r["label"]),
            "condition": facet(
                "condition",
                {value: (value, label) for value, label in ItemPage.Condition.choices},
                lambda r: CONDITION_ORDER.index(r["value"]),
            ),
            "shop": [  # shops_list is in title order: hundreds, not sorted again
                {"value": shop.slug, "label": shop.title, "count": n}
                for shop in shops_list
                if (n := counts["shop"].get(shop.path))
            ],
        },
    }


def _kinds_and_shops(base: QuerySet, kinds: dict[str, Q], shops: dict[str, Q]) -> dict:
    """PostgreSQL: both facet counts of `base` in one scan (GROUPING SETS), each counting
    only the rows that pass its own filters: {"kinds": [(designer, category, condition, n)],
    "shops": [(shop path, n)]}."""

    def passing(filters: dict[str, Q]) -> ExpressionWrapper | Value:
        if not filters:
            return Value(True)
        return ExpressionWrapper(reduce(operator.and_, filters.values()), BooleanField())

    rows = base.order_by().annotate(in_kinds=passing(kinds), in_shops=passing(shops))
    found: dict[str, list] = {"kinds": [], "shops": []}
    try:
        sql, params = rows.values(
            "designer_id", "category_id", "condition", "shop_path", "in_kinds", "in_shops"
        ).query.sql_with_params()
    except EmptyResultSet:  # no words left to match: nothing to count
        return found
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT designer_id, category_id, condition, shop_path, GROUPING(shop_path), "
            "COUNT(*) FILTER (WHERE in_kinds::boolean), COUNT(*) FILTER (WHERE in_shops::boolean) "
            f"FROM ({sql}) AS matches GROUP BY GROUPING SETS "
            "((designer_id, category_id, condition), (shop_path))",
            params,
        )
        for designer, category, condition, path, per_kind, in_kinds, in_shops in cursor:
            if per_kind and in_kinds:
                found["kinds"].append((designer, category, condition, in_kinds))
            elif not per_kind and in_shops:
                found["shops"].append((path, in_shops))
    return found


def _keep_selected(
    facets: dict,
    filters: SearchFilters,
    shops: dict[str, ShopRef],
    designers: dict,
    categories: dict,
) -> None:
    """A chosen filter stays listed (count 0) when no result carries it any more, chosen under
    its name (a slug nothing has: the slug, readable), a condition in its rank and any other
    last: otherwise the form would show "All ..." and its next submit drop the filter."""
    designer_names = {slug: name for slug, name in designers.values()}
    category_names = {slug: name for slug, name, _parent in categories.values()}
    labels = {
        "designer": designer_names.get,
        "category": category_names.get,
        "condition": lambda value: ItemPage.Condition(value).label,
        "shop": lambda slug: shops[slug].title if slug in shops else None,
    }
    for name, label in labels.items():
        selected = getattr(filters, name)
        if selected and selected not in {row["value"] for row in facets[name]}:
            shown = label(selected) or selected.replace("-", " ").replace("_", " ").capitalize()
            facets[name].append({"value": selected, "label": shown, "count": 0})
    facets["condition"].sort(key=lambda row: CONDITION_ORDER.index(row["value"]))
