from django.shortcuts import render
from django.urls import path

# The context every yardstick render gets: the bare app and the site's minimal view alike.
CONTEXT = {"title": "New in", "shopper": "Ada", "count": 69}


def page(request):
    return render(request, "bare/page.html", CONTEXT)


urlpatterns = [path("", page)]
