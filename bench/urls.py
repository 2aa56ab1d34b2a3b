"""The site's URLs plus its minimal views, which the benchmark compares with the bare app."""

from django.shortcuts import render
from django.urls import path

from bench.bare.urls import CONTEXT
from marketplace.urls import urlpatterns as site_urlpatterns
from products.models import Designer


def minimal(request):
    """The bare app's template and context, through the site's middleware, context processors
    and settings: what the stack costs before any page's own work."""
    return render(request, "bare/page.html", CONTEXT)


def minimal_db(request):
    """The same plus one primary-key query on a persistent connection."""
    designer = Designer.objects.filter(pk=1).first()
    return render(request, "bare/page.html", {**CONTEXT, "shopper": designer})


urlpatterns = [
    path("_bench/minimal/", minimal),
    path("_bench/minimal-db/", minimal_db),
    *site_urlpatterns,
]
