"""The endpoints of the read API, on Wagtail's API v2 viewsets.

Wagtail's API offers every field a model lists in `api_fields` plus a set of meta fields, and
lets `?fields=` pick among them. Here each endpoint declares its own fields and ignores the
models' lists, so `?fields=*` means exactly the fields below and asking for any other name
(`owner`, `quantity`, `commission_rate`, ...) is Wagtail's 400 "unknown fields". Filters and
ordering are allowlists too (see filters.py); unknown query parameters are a 400.

Anonymous and read-only: no authentication (a signed-in editor sees what everyone sees, so
responses can be cached publicly), GET and HEAD only, JSON only.
"""

import hashlib

from django.http import Http404
from django.urls import reverse
from django.utils.cache import patch_cache_control

from wagtail.api import APIField
from wagtail.api.utils import get_full_url
from wagtail.api.v2.pagination import WagtailPagination
from wagtail.api.v2.serializers import PageSerializer
from wagtail.api.v2.utils import BadRequestError
from wagtail.api.v2.views import BaseAPIViewSet

from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.page_cache import CATALOGUE, SHOPS, memoised
from products.cache import HOLDS
from products.models import Designer, ItemPage
from products.selectors import items_live, shops_listed
from vendors.models import ShopPage

from . import fields, filters, selectors

CACHE_SECONDS = 60
# Deep offsets walk every row before them; past this, filters (shop, designer, ...) narrow lists.
MAX_OFFSET = 10_000
MAX_ID = 2**63 - 1


PAGE_META_FIELDS = [
    "type",
    "detail_url",
    APIField("html_url", serializer=fields.PageHtmlUrlField()),
    "slug",
    "first_published_at",
]
PAGE_META_NAMES = ["type", "detail_url", "html_url", "slug", "first_published_at"]


class PublicPagination(WagtailPagination):
    """Wagtail's `limit`/`offset` (limit ≤ WAGTAILAPI_LIMIT_MAX), with a bounded offset and the
    total taken from the view (see `PublicAPIViewSet.count`)."""

    def paginate_queryset(self, queryset, request, view=None):
        try:
            too_far = int(request.GET.get("offset", 0)) > MAX_OFFSET
        except ValueError:
            too_far = False  # Wagtail's own check answers 400
        if too_far:
            raise BadRequestError(
                f"offset cannot be higher than {MAX_OFFSET}: narrow the list with filters"
            )
        return super().paginate_queryset(CountedQuerySet(queryset, view), request, view)


class CountedQuerySet:
    """What Wagtail's paginator needs of a queryset (`count()` and slicing), with the count
    asked of the view, which may know it without a COUNT query."""

    def __init__(self, queryset, view):
        self.queryset, self.view = queryset, view

    def count(self):
        return self.view.count(self.queryset) if self.view else self.queryset.count()

    def __getitem__(self, key):
        return self.queryset[key]


class PublicReadMixin:
    """What every endpoint of the public API shares: anonymous, read-only, cacheable."""

    authentication_classes = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    http_method_names = ["get", "head"]  # anything else, OPTIONS included, is a 405

    def get_renderer_context(self):
        context = super().get_renderer_context()
        context.pop("indent", None)  # compact JSON (Wagtail indents by 4)
        return context

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
        return response


class PublicAPIViewSet(PublicReadMixin, BaseAPIViewSet):
    """A Wagtail API v2 endpoint whose fields, filters and ordering are allowlists."""

    pagination_class = PublicPagination
    filter_backends: list = []
    # Set on subclasses:
    public_body_fields: list = []  # APIField or names, after "id"
    public_meta_fields: list = ["type", "detail_url"]
    order_fields: tuple[str, ...] = ("id",)
    default_order: tuple[str, ...] = ("id",)

    # Query parameters every endpoint understands; each filter backend adds its own.
    # `format`: DRF's; only `json` exists (anything else is a 404).
    common_query_parameters = frozenset(["limit", "offset", "fields", "rich_text_format", "format"])

    @classmethod
    def get_body_fields(cls, model):
        return cls._convert_api_fields(["id", *cls.public_body_fields])

    @classmethod
    def get_meta_fields(cls, model):
        return cls._convert_api_fields(cls.public_meta_fields)

    @classmethod
    def get_urlpatterns(cls):
        # Listing and detail only: no `find/` (it routes arbitrary paths through the site).
        return [pattern for pattern in super().get_urlpatterns() if pattern.name != "find"]

    @property
    def known_query_parameters(self):
        names = set(self.common_query_parameters)
        for backend in self.filter_backends:
            names.update(backend.parameters)
        return frozenset(names)

    def check_query_parameters(self, queryset):
        unknown = set(self.request.GET) - self.known_query_parameters
        if unknown:
            raise BadRequestError(
                "query parameter is not an operation or a recognised filter: "
                + ", ".join(sorted(unknown))
            )

    def base_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        # Built once per request: the visibility rule reads the hidden sections when called.
        if not hasattr(self, "_base_queryset"):
            self._base_queryset = self.base_queryset()
        return self._base_queryset

    def rows(self, queryset):
        """The queryset that loads full rows for a page of ids (joins go here, not in the
        listing query, whose plan should follow the sort order's index)."""
        return queryset

    def attach(self, objects: list) -> list:
        """Load what the serializer needs for a page of objects, in a fixed number of queries."""
        return objects

    def count(self, queryset) -> int:
        """The listing's total, computed once per filter set until the catalogue changes
        (publishing, catalogue edits and sales, as for the site's own counts)."""
        filters = sorted(
            (name, value)
            for name, value in self.request.GET.lists()
            if name not in self.common_query_parameters and name != "order"
        )
        digest = hashlib.sha256(repr(filters).encode()).hexdigest()[:32]
        return memoised(
            f"api-count:{self.model._meta.label}:{digest}",
            queryset.count,
            tags=[CATALOGUE, SHOPS, HOLDS],  # `available` leaves out reserved pieces
        )

    def listing_view(self, request):
        queryset = self.get_queryset()
        self.check_query_parameters(queryset)
        queryset = self.filter_queryset(queryset)
        # First the page's ids (a narrow query), then their rows.
        ids = list(self.paginate_queryset(queryset.values_list("pk", flat=True)))
        found = self.rows(self.get_queryset()).in_bulk(ids)
        objects = self.attach([found[pk] for pk in ids if pk in found])
        serializer = self.get_serializer(objects, many=True)
        return self.get_paginated_response(serializer.data)

    def get_object(self):
        if not hasattr(self, "_cached_object"):
            pk = self.kwargs["pk"]
            visible = self.rows(self.get_queryset())
            found = visible.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
            if found is None:
                raise Http404("not found")
            self._cached_object = self.attach([found])[0]
        return self._cached_object


class ShopsAPIViewSet(PublicAPIViewSet):
    """`/api/v2/shops/`: live, public shops of active vendors."""

    model = ShopPage
    base_serializer_class = PageSerializer
    filter_backends = [filters.ShopFilter, filters.AllowlistOrdering]
    order_fields = ("id", "title", "first_published_at")
    default_order = ("title",)

    public_meta_fields = [*PAGE_META_FIELDS]
    public_body_fields = [
        "title",
        "intro",
        "story",
        "address",
        "city",
        APIField("logo", serializer=fields.RenditionField(source="api_logo")),
        APIField("banner", serializer=fields.RenditionField(source="api_banner")),
        APIField("phone_number", serializer=fields.PublishedPhoneNumberField()),
        APIField("phone_hours", serializer=fields.PublishedPhoneHoursField()),
        APIField(
            "item_count",
            serializer=serializers.IntegerField(source="api_item_count", read_only=True),
        ),
        APIField("designers", serializer=fields.SummaryListField(source="api_designers")),
        APIField("categories", serializer=fields.SummaryListField(source="api_categories")),
    ]
    listing_default_fields = [
        "id",
        *PAGE_META_NAMES,
        "title",
        "intro",
        "city",
        "logo",
        "phone_number",
        "phone_hours",
        "item_count",
        "designers",
        "categories",
    ]
    nested_default_fields = ["id", "type", "detail_url", "html_url", "title"]
    detail_only_fields = ["story"]

    def base_queryset(self):
        return shops_listed()  # the site's rule: live, taking orders, not private

    def attach(self, objects):
        return selectors.attach_shop_extras(objects)


class ItemsAPIViewSet(PublicAPIViewSet):
    """`/api/v2/items/`: live, public items in visible shops, newest first."""

    model = ItemPage
    base_serializer_class = PageSerializer
    filter_backends = [filters.ItemFilter, filters.AllowlistOrdering]
    order_fields = ("id", "title", "price", "first_published_at")
    default_order = ("-first_published_at",)
    # listed_at is first_published_at on the item's own table: the listing indexes sort on it.
    order_columns = {"id": "page_ptr_id", "first_published_at": "listed_at"}

    public_meta_fields = [*PAGE_META_FIELDS]
    public_body_fields = [
        "title",
        APIField("designer", serializer=fields.DesignerSummaryField()),
        APIField("category", serializer=fields.CategoryField()),
        APIField("shop", serializer=fields.ShopSummaryField()),
        APIField(
            "price",
            serializer=serializers.DecimalField(
                max_digits=10, decimal_places=2, coerce_to_string=True, read_only=True
            ),
        ),
        APIField("currency", serializer=fields.CurrencyField()),
        "condition",
        APIField("condition_label", serializer=fields.ConditionLabelField()),
        APIField("available", serializer=fields.AvailableField()),
        APIField("reserved", serializer=fields.ReservedField()),
        APIField("sold", serializer=fields.SoldField()),
        APIField("images", serializer=fields.GalleryField()),
        "description",
        "size",
        "material",
        "colour",
        "year",
    ]
    listing_default_fields = [
        "id",
        *PAGE_META_NAMES,
        "title",
        "designer",
        "category",
        "shop",
        "price",
        "currency",
        "condition",
        "condition_label",
        "available",
        "reserved",
        "sold",
        "images",
    ]
    nested_default_fields = ["id", "type", "detail_url", "html_url", "title"]
    # Rich text may hold links, each resolved on output: one item at a time only.
    detail_only_fields = ["description"]

    def base_queryset(self):
        return items_live()  # exactly the pieces the site lists

    def rows(self, queryset):
        return queryset.select_related("designer", "category", "category__parent")

    def attach(self, objects):
        return selectors.attach_item_extras(objects)


class DesignersAPIViewSet(PublicAPIViewSet):
    """`/api/v2/designers/`: every designer, with its number of visible pieces for sale."""

    model = Designer
    filter_backends = [filters.DesignerFilter, filters.AllowlistOrdering]
    order_fields = ("id", "name")
    default_order = ("name",)

    public_meta_fields = [
        "type",
        "detail_url",
        APIField("html_url", serializer=fields.DesignerHtmlUrlField()),
    ]
    public_body_fields = [
        "name",
        "slug",
        "bio",
        APIField("logo", serializer=fields.RenditionField(source="api_logo")),
        APIField(
            "item_count",
            serializer=serializers.IntegerField(source="api_item_count", read_only=True),
        ),
    ]
    listing_default_fields = [
        "id",
        "type",
        "detail_url",
        "html_url",
        "name",
        "slug",
        "bio",
        "logo",
        "item_count",
    ]
    nested_default_fields = ["id", "type", "detail_url", "name", "slug"]

    def base_queryset(self):
        return Designer.objects.all()

    def attach(self, objects):
        return selectors.attach_designer_extras(objects, items=items_live())


class APIRootView(PublicReadMixin, APIView):
    """`/api/v2/`: where the endpoints are."""

    endpoints = ("shops", "items", "designers")

    def get(self, request):
        namespace = request.resolver_match.namespace
        return Response(
            {
                name: get_full_url(request, reverse(f"{namespace}:{name}:listing"))
                for name in self.endpoints
            }
        )
