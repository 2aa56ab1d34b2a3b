"""The item page makes (or finds) each picture size once: its gallery shows the large size
twice (main picture and thumbnail link) and its JSON-LD names it again."""

import json
import re

import pytest

from marketplace.models import CustomImage
from products.factories import ItemPageFactory
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


def test_each_picture_size_is_looked_up_once_per_request(client, site_tree, monkeypatch):
    item = ItemPageFactory(parent=ShopPageFactory(), gallery=3)
    client.get(item.url)  # renditions made
    looked_up = []
    original = CustomImage.get_rendition

    def counting(image, spec):
        looked_up.append((image.pk, str(getattr(spec, "spec", spec))))
        return original(image, spec)

    monkeypatch.setattr(CustomImage, "get_rendition", counting)
    html = client.get(item.url).content.decode()

    assert sorted(looked_up) == sorted(set(looked_up))  # no size twice
    assert len(looked_up) == 3 * 2  # large and thumbnail of each
    large = re.findall(r'data-full-src="([^"]+)"', html)
    (json_ld,) = re.findall(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', html, re.S)
    assert [url.removeprefix("http://testserver") for url in json.loads(json_ld)["image"]] == large
    assert re.search(r'<img alt="[^"]*" class="gallery__main-img" data-gallery-main=""', html)


@pytest.mark.parametrize(
    "attrs",
    [
        {},
        {
            "alt": 'A "quoted" <b>title</b> & more',
            "class": "gallery__main-img",
            "data_gallery_main": "",
        },
        {"alt": "", "loading": "lazy", "hidden": True, "inert": False, "title": None},
    ],
)
def test_a_rendition_image_is_written_as_wagtail_writes_it(site_tree, attrs):
    """`{% rendition_img %}` writes what Wagtail's `img_tag` writes, escaping included, in a
    third of its time."""
    from marketplace.templatetags.vitrine_tags import rendition_img

    item = ItemPageFactory(parent=ShopPageFactory(), gallery=1)
    rendition = item.gallery_images.first().image.get_rendition("max-400x400")
    wagtail = rendition.img_tag({name.replace("_", "-"): value for name, value in attrs.items()})
    assert rendition_img(rendition, **attrs) == wagtail


@pytest.mark.parametrize("specs", [("fill-360x450", "fill-720x900"), ("max-400x400",)])
def test_an_image_is_written_as_wagtail_writes_it(site_tree, specs):
    """`{% img %}` (every public template's) writes what Wagtail's `{% srcset_image %}` (several
    sizes) or `{% image %}` (one) writes, and nothing for no image, as they do."""
    from django.template import engines

    item = ItemPageFactory(parent=ShopPageFactory(), gallery=1)
    engine = engines["django"]
    attrs = 'sizes="(min-width: 1000px) 25vw, 50vw" alt=alt loading="lazy" class="card__img"'
    ours = engine.from_string(
        "{% load vitrine_tags %}{% img image " + " ".join(f'"{s}"' for s in specs) + f" {attrs} %}}"
    )
    wagtail = engine.from_string(
        "{% load wagtailimages_tags %}"
        + (
            f"{{% srcset_image image fill-{{360x450,720x900}} {attrs} %}}"
            if len(specs) > 1
            else f"{{% image image {specs[0]} {attrs} %}}"
        )
    )
    for image in (item.gallery_images.first().image, None):
        context = {"image": image, "alt": 'A "quoted" <b>title</b> & more'}
        assert ours.render(context) == wagtail.render(context)
    written = ours.render({"image": item.gallery_images.first().image})
    assert written.startswith("<img ")
    assert ("srcset=" in written) == (len(specs) > 1)
