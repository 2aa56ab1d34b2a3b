"""The site's URLs plus two reference views the benchmark compares every page with."""

from django.shortcuts import render
from django.urls import path

from marketplace.urls import urlpatterns as site_urlpatterns
from products.models import Designer


def baseline(request):
    """A bare Django view rendering a 20 KB template: the unit of CPU cost."""
    return render(request, "bench/baseline.html", {"rows": range(180)})


def baseline_db(request):
    """The same plus one primary-key query on a persistent connection."""
    designer = Designer.objects.filter(pk=1).first()
    return render(request, "bench/baseline.html", {"rows": range(180), "designer": designer})


urlpatterns = [
    path("_bench/baseline/", baseline),
    path("_bench/baseline-db/", baseline_db),
    *site_urlpatterns,
]
