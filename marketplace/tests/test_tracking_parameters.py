"""Campaign and ad-click parameters are taken out of the request the site sees
(marketplace.middleware.TrackingParametersMiddleware); the pages' and parts' caches:
marketplace/tests/test_page_cache.py and products/tests/test_shared_parts.py."""

from django.http import HttpResponse
from django.test import RequestFactory

from marketplace.middleware import TrackingParametersMiddleware


def seen(query: str):
    """The request the view gets for `query` (whose parameters a middleware before read)."""
    request = RequestFactory().get("/search/", QUERY_STRING=query)
    assert request.GET is not None
    got = []
    TrackingParametersMiddleware(lambda r: got.append(r) or HttpResponse())(request)
    return got[0]


def test_the_other_parameters_are_kept_as_written():
    request = seen("q=caf%C3%A9+noir&utm_source=news&page=2&gclid=Cj0K&utm%5Fmedium=email")
    assert request.GET.dict() == {"q": "café noir", "page": "2"}
    assert request.META["QUERY_STRING"] == "q=caf%C3%A9+noir&page=2"
    assert request.get_full_path() == "/search/?q=caf%C3%A9+noir&page=2"


def test_only_tracking_parameters_leaves_no_query():
    request = seen("utm_source=news&fbclid=IwAR&_ga=2.1")
    assert request.GET.dict() == {} and request.get_full_path() == "/search/"


def test_a_request_without_them_is_left_alone():
    request = seen("q=bag&utm=1&ref=mail&page=2")
    assert request.META["QUERY_STRING"] == "q=bag&utm=1&ref=mail&page=2"
    assert request.GET.dict() == {"q": "bag", "utm": "1", "ref": "mail", "page": "2"}
