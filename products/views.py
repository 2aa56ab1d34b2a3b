from dataclasses import fields
from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from marketplace import fragments

from .search import INDEX_LAG_SECONDS, SORTS, SearchFilters, item_search

# What the results depend on: the filters and the page (anything else is served, not kept).
PARAMS = (*(field.name for field in fields(SearchFilters)), "page")


def search(request: HttpRequest) -> HttpResponse:
    filters = SearchFilters.from_querydict(request.GET)

    def parts_context() -> dict:
        # Kept no longer than counts are: the text index may lag behind a publish.
        fragments.valid_until(timezone.now() + timedelta(seconds=INDEX_LAG_SECONDS))
        querystring = request.GET.copy()
        querystring.pop("page", None)
        return {
            "result": item_search(request=request, filters=filters),
            "filters": filters,
            "sorts": SORTS,
            "querystring": querystring.urlencode(),
        }

    parts = fragments.page_parts(
        request, "products/search_parts.html", parts_context, params=PARAMS
    )
    return render(request, "products/search.html", {"filters": filters, "parts": parts})
