from dataclasses import fields

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from marketplace.fragments import page_parts

from .search import INDEX_LAG_SECONDS, SORTS, SearchFilters, item_search

# What the results depend on: the filters and the page (anything else is served, not kept).
PARAMS = (*(field.name for field in fields(SearchFilters)), "page")


def search(request: HttpRequest) -> HttpResponse:
    filters = SearchFilters.from_querydict(request.GET)

    def parts_context() -> dict:
        querystring = request.GET.copy()
        querystring.pop("page", None)
        return {
            "result": item_search(request=request, filters=filters),
            "filters": filters,
            "sorts": SORTS,
            "querystring": querystring.urlencode(),
        }

    # Kept no longer than counts are: the text index may lag behind a publish.
    parts = page_parts(
        request,
        "products/search_parts.html",
        parts_context,
        params=PARAMS,
        timeout=INDEX_LAG_SECONDS,
    )
    return render(request, "products/search.html", {"filters": filters, "parts": parts})
