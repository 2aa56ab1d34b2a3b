from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .search import SORTS, SearchFilters, item_search


def search(request: HttpRequest) -> HttpResponse:
    filters = SearchFilters.from_querydict(request.GET)
    result = item_search(request=request, filters=filters)
    querystring = request.GET.copy()
    querystring.pop("page", None)
    return render(
        request,
        "products/search.html",
        {
            "result": result,
            "filters": filters,
            "sorts": SORTS,
            "querystring": querystring.urlencode(),
        },
    )
