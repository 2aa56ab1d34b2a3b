"""A vendor uploads images in the Wagtail admin: only real JPEG/PNG/WebP/GIF, within limits.

Through `wagtailimages:add` (and the multiple uploader the image listing uses) as a vendor. Every
refusal shows a clear message and saves nothing; accepted images land in the vendor's own
collection, whatever collection the POST names.
"""

import json
from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from wagtail.images import get_image_model

import pytest
from PIL import Image as PILImage

from vendors.services import vendor_onboard

Image = get_image_model()

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
    b"<script>alert(1)</script><rect width='40' height='40'/></svg>"
)


def picture(fmt: str, size=(64, 48), mode="RGB") -> bytes:
    buffer = BytesIO()
    PILImage.new(mode, size, "#b08d57" if mode == "RGB" else 0).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def vendor(site_tree):
    return vendor_onboard(
        name="Maison Lune", contact_email="hello@lune.example", staff_email="s@lune.example"
    )


@pytest.fixture
def other(site_tree):
    return vendor_onboard(
        name="Atelier Noir", contact_email="hello@noir.example", staff_email="s@noir.example"
    )


@pytest.fixture
def vendor_client(client, vendor):
    client.force_login(vendor.group.user_set.get())
    return client


def upload(client, name: str, content: bytes, **extra):
    return client.post(
        reverse("wagtailimages:add"),
        {"title": "Kelly 28, front", "file": SimpleUploadedFile(name, content), **extra},
    )


def refused(response, message: str):
    assert response.status_code == 200, "the form is shown again"
    html = response.content.decode()
    assert "The image could not be created due to errors." in html
    assert message in html, response.context["form"].errors


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("front.jpg", "JPEG"),
        ("front.jpeg", "JPEG"),
        ("front.png", "PNG"),
        ("front.webp", "WEBP"),
        ("front.gif", "GIF"),
    ],
)
def test_vendor_uploads_supported_formats_into_own_collection(vendor, vendor_client, name, fmt):
    response = upload(vendor_client, name, picture(fmt))
    assert response.status_code == 302, response.content.decode()[:2000]
    image = Image.objects.get()
    assert image.collection_id == vendor.collection_id
    assert (image.width, image.height) == (64, 48)
    assert image.uploaded_by_user == vendor.group.user_set.get()
    listing = vendor_client.get(reverse("wagtailimages:index")).content.decode()
    assert "Kelly 28, front" in listing


UNSUPPORTED = "Not a supported image format. Supported formats: GIF, JPG, JPEG, PNG, WEBP."
NOT_AN_IMAGE = "Upload a valid image."


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("logo.svg", SVG, UNSUPPORTED),
        ("logo.png", SVG, "Not a valid .png image."),
        ("notes.jpg", b"Just some notes, not a picture at all.\n" * 20, NOT_AN_IMAGE),
        ("photo.tiff", picture("TIFF"), UNSUPPORTED),
        ("photo.bmp", picture("BMP"), UNSUPPORTED),
        ("photo.png", picture("JPEG"), "The extension does not match the file format (jpeg)"),
        ("photo.html", b"<html><script>alert(1)</script></html>", UNSUPPORTED),
    ],
)
def test_unsupported_files_are_refused(vendor_client, name, content, message):
    refused(upload(vendor_client, name, content), message)
    assert not Image.objects.exists()


@pytest.mark.django_db
def test_file_over_10_mb_is_refused(vendor_client):
    # A real PNG with padding after its end: only the size is wrong.
    content = picture("PNG") + b"\0" * (10 * 1024 * 1024)
    refused(upload(vendor_client, "huge.png", content), "This file is too big")
    assert "Maximum filesize 10.0" in upload(vendor_client, "huge.png", content).content.decode()
    assert not Image.objects.exists()


@pytest.mark.django_db
def test_image_over_40_megapixels_is_refused(vendor_client):
    content = picture("PNG", size=(8000, 5001), mode="1")  # 40,008,000 pixels, a few kB
    assert len(content) < 1024 * 1024
    refused(
        upload(vendor_client, "wide.png", content),
        "This file has too many pixels (40008000). Maximum pixels 40000000.",
    )
    assert not Image.objects.exists()


@pytest.mark.django_db
def test_forged_collection_is_ignored(vendor, other, vendor_client):
    """With one collection to upload to, Wagtail drops the field: the image stays the vendor's."""
    response = upload(vendor_client, "front.png", picture("PNG"), collection=other.collection_id)
    assert response.status_code == 302
    assert Image.objects.get().collection_id == vendor.collection_id
    assert not Image.objects.filter(collection=other.collection).exists()


@pytest.mark.django_db
def test_multiple_uploader_applies_the_same_rules(vendor, other, vendor_client):
    url = reverse("wagtailimages:add_multiple")

    def post(name, content, **extra):
        response = vendor_client.post(url, {"files[]": SimpleUploadedFile(name, content), **extra})
        assert response.status_code == 200
        return json.loads(response.content)

    result = post("logo.png", SVG)
    assert result["success"] is False
    assert "Not a valid .png image." in result["error_message"]
    result = post("wide.png", picture("PNG", size=(8000, 5001), mode="1"))
    assert result["success"] is False and "too many pixels" in result["error_message"]
    assert not Image.objects.exists()

    result = post("front.webp", picture("WEBP"), collection=str(other.collection_id))
    assert result["success"] is True
    assert Image.objects.get().collection_id == vendor.collection_id
