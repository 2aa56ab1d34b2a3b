"""The site's image model is the core's (marketplace.CustomImage): an image uploaded in the
Wagtail admin comes back with its tags, found by them, and renders through its renditions."""

from io import BytesIO

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from taggit.models import TaggedItem
from wagtail.images import get_image_model

import pytest
from PIL import Image as PILImage

from marketplace.models import CustomImage, CustomRendition


def test_wagtail_uses_marketplaces_image_and_rendition_models():
    assert get_image_model() is CustomImage
    assert CustomImage.get_rendition_model() is CustomRendition


@pytest.mark.django_db
def test_an_uploaded_image_round_trips_with_its_tags(client):
    client.force_login(
        get_user_model().objects.create_superuser("boss", "boss@vitrine.example", "x")
    )
    png = BytesIO()
    PILImage.new("RGB", (64, 48), "#b08d57").save(png, format="PNG")
    response = client.post(
        reverse("wagtailimages:add"),
        {
            "title": "Kelly 28, front",
            "file": SimpleUploadedFile("front.png", png.getvalue()),
            "tags": "leather, sunset",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    image = CustomImage.objects.get(title="Kelly 28, front")
    assert (image.width, image.height) == (64, 48)
    assert sorted(image.tags.names()) == ["leather", "sunset"]
    assert list(CustomImage.objects.filter(tags__name="sunset")) == [image]
    # Tags are stored against marketplace's content type (the migration moved home's to it).
    image_type = ContentType.objects.get_for_model(CustomImage)
    assert (image_type.app_label, image_type.model) == ("marketplace", "customimage")
    assert TaggedItem.objects.filter(content_type=image_type, object_id=image.pk).count() == 2

    rendition = image.get_rendition("fill-20x20")
    assert (rendition.width, rendition.height) == (20, 20)
    assert list(image.renditions.all()) == [rendition]

    listing = client.get(reverse("wagtailimages:index"), {"tag": "sunset"}).content.decode()
    assert "Kelly 28, front" in listing
