"""Documents: served through Wagtail's serve view; only PDF and plain text inline, with nosniff."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from wagtail.documents import get_document_model

import pytest


@pytest.fixture
def editor_client(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser(
            username="boss", email="boss@vitrine.example", password="a-long-passphrase-1"
        )
    )
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content"), [("terms.pdf", b"%PDF-1.4\n%%EOF\n"), ("notes.txt", b"Opening hours\n")]
)
def test_pdf_and_text_uploads_are_kept_and_served_by_the_site(
    editor_client, site_tree, name, content
):
    upload = SimpleUploadedFile(name, content)
    response = editor_client.post("/admin/documents/add/", {"title": "Ours", "file": upload})
    assert response.status_code == 302, response.content.decode()[:2000]
    doc = get_document_model().objects.get()
    # Through the site's serve view (permissions, headers), never a bare media URL.
    assert doc.url == reverse("wagtaildocs_serve", args=(doc.id, doc.filename))
    served = editor_client.get(doc.url)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == content


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["report.docx", "prices.csv", "photos.zip", "terms.rtf"])
def test_other_document_types_are_refused(editor_client, site_tree, name):
    upload = SimpleUploadedFile(name, b"PK\x03\x04 not for the public")
    response = editor_client.post("/admin/documents/add/", {"title": "Other", "file": upload})
    assert response.status_code == 200  # the form again, with an error
    assert "File extension" in response.content.decode()
    assert get_document_model().objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["evil.html", "evil.htm", "evil.svg", "evil.xhtml", "evil.html.", "evil.js"]
)
def test_html_and_svg_uploads_are_refused(editor_client, site_tree, name):
    upload = SimpleUploadedFile(name, b"<script>alert(1)</script>", content_type="text/html")
    response = editor_client.post("/admin/documents/add/", {"title": "Evil", "file": upload})
    assert response.status_code == 200  # the form again, with an error
    assert get_document_model().objects.count() == 0


def make_document(name: str, content: bytes):
    return get_document_model().objects.create(title=name, file=SimpleUploadedFile(name, content))


@pytest.mark.django_db
def test_pdf_opens_inline_with_nosniff_and_a_locked_down_policy(client, site_tree):
    doc = make_document("terms.pdf", b"%PDF-1.4\n%%EOF\n")
    assert doc.url.startswith("/documents/")  # the serve view, not a direct media URL
    response = client.get(doc.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    # Wagtail's serve view: nothing in a served document may run or load anything.
    assert response["Content-Security-Policy"] == "default-src 'none'"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_text_with_html_inside_is_plain_text_with_nosniff(client, site_tree):
    doc = make_document("notes.txt", b"<html><script>alert(1)</script></html>")
    response = client.get(doc.url)
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_other_types_download_as_attachments(client, site_tree, settings):
    # Even if an extension slipped through (say an old upload), it is never shown inline.
    settings.WAGTAILDOCS_EXTENSIONS = None
    doc = make_document("page.html", b"<script>alert(1)</script>")
    response = client.get(doc.url)
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
