"""`/api/v2/`: the public read API (mounted in marketplace/urls.py)."""

from django.urls import path

from wagtail.api.v2.router import WagtailAPIRouter

from .endpoints import APIRootView, DesignersAPIViewSet, ItemsAPIViewSet, ShopsAPIViewSet

app_name = "wagtailapi"

api_router = WagtailAPIRouter(app_name)
api_router.register_endpoint("shops", ShopsAPIViewSet)
api_router.register_endpoint("items", ItemsAPIViewSet)
api_router.register_endpoint("designers", DesignersAPIViewSet)

urlpatterns = [
    path("", APIRootView.as_view(), name="root"),
    *api_router.get_urlpatterns(),
]
