"""Serializer fields of the read API. Each builds its output from named attributes only, so a
field can never hand out more of an object than it lists."""

from django.conf import settings

from wagtail.api.utils import get_full_url
from wagtail.api.v2.utils import get_object_detail_url

from rest_framework import serializers


class ComputedField(serializers.Field):
    """A read-only field. It reads the attribute of its name (or `source=`); subclasses that
    need the whole object set `whole_object`."""

    whole_object = False

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        if self.whole_object:
            kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def full_url(self, path: str) -> str:
        return get_full_url(self.context["request"], path)

    def detail_url(self, model, pk) -> str | None:
        return get_object_detail_url(self.context["router"], self.context["request"], model, pk)


class ObjectField(ComputedField):
    whole_object = True


def rendition_data(field: ComputedField, rendition) -> dict | None:
    if rendition is None:
        return None
    return {
        "url": field.full_url(rendition.url),
        "width": rendition.width,
        "height": rendition.height,
    }


class RenditionField(ComputedField):
    """A picture as `{url, width, height}`, from a rendition the selector attached."""

    def to_representation(self, rendition):
        return rendition_data(self, rendition)


class GalleryField(ObjectField):
    """An item's pictures: `[{alt, thumbnail: {url, width, height}, large: {...}}]`."""

    def to_representation(self, item):
        return [
            {"alt": alt, **{name: rendition_data(self, r) for name, r in renditions.items()}}
            for alt, renditions in item.api_gallery
        ]


class CurrencyField(ObjectField):
    def to_representation(self, obj):
        return settings.VITRINE_CURRENCY


class SoldField(ObjectField):
    def to_representation(self, item):
        return item.is_sold


class AvailableField(ObjectField):
    """Whether the piece is for sale now: the site's rule (not sold, not reserved by a checkout
    in progress), never the stock level."""

    def to_representation(self, item):
        return not item.is_sold and not item.is_reserved


class ReservedField(ObjectField):
    """Every piece is held by a checkout in progress: back on sale if that payment fails."""

    def to_representation(self, item):
        return item.is_reserved


class ConditionLabelField(ObjectField):
    def to_representation(self, item):
        return item.get_condition_display()


class DesignerSummaryField(ComputedField):
    def to_representation(self, designer):
        return {
            "id": designer.pk,
            "name": designer.name,
            "slug": designer.slug,
            "html_url": self.full_url(designer.get_url()),
            "detail_url": self.detail_url(type(designer), designer.pk),
        }


def _category(category) -> dict:
    return {"id": category.pk, "name": category.name, "slug": category.slug}


class CategoryField(ComputedField):
    """`{id, name, slug, parent: {id, name, slug} | null}`."""

    def to_representation(self, category):
        parent = category.parent if category.parent_id else None
        return {**_category(category), "parent": _category(parent) if parent else None}


class ShopSummaryField(ComputedField):
    def to_representation(self, shop):
        return {
            "id": shop.pk,
            "title": shop.title,
            "slug": shop.slug,
            "html_url": shop.get_full_url(self.context["request"]),
            "detail_url": self.detail_url(type(shop), shop.pk),
        }


class PageHtmlUrlField(ObjectField):
    """A page's URL on the site (Wagtail's own field, with the site root paths read once per
    request rather than once per page)."""

    def to_representation(self, page):
        return page.get_full_url(self.context["request"])


class DesignerHtmlUrlField(ObjectField):
    def to_representation(self, designer):
        return self.full_url(designer.get_url())


class SummaryListField(ComputedField):
    """A list of `{id, name, slug}` dicts the selector built."""

    def to_representation(self, value):
        return [{"id": row["id"], "name": row["name"], "slug": row["slug"]} for row in value]


class PublishedPhoneNumberField(ComputedField):
    """The shop's phone number in E.164, or null. The rule of when a shop shows its number is
    `ShopPage.published_phone_number`'s alone; this field only formats its answer."""

    def __init__(self, **kwargs):
        super().__init__(source="published_phone_number", **kwargs)

    def to_representation(self, number):
        return number.as_e164


class PublishedPhoneHoursField(ObjectField):
    """When someone answers the phone: only alongside a published number."""

    def to_representation(self, shop):
        if shop.published_phone_number is None:
            return None
        return shop.phone_hours or None
