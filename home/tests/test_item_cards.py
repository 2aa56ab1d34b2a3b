"""Item cards come from the card cache (home.templatetags.cards): shared by every page and
shopper, never stale, and never carrying one shopper's heart to another."""

import re
from datetime import timedelta
from decimal import Decimal

from django.test import Client
from django.utils import timezone

import pytest

from accounts.factories import UserFactory
from products.factories import ItemPageFactory
from products.models import ItemPage
from products.services import stock_set
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(site_tree):
    return ShopPageFactory(title="Maison Lune")


@pytest.fixture
def tote(shop):
    return ItemPageFactory(
        parent=shop, title="Cognac leather tote", price=Decimal("1250.00"), with_image=True
    )


@pytest.fixture
def clutch(shop):
    return ItemPageFactory(parent=shop, title="Ivory silk clutch", price=Decimal("640.00"))


def cards(html: str, title: str) -> list[str]:
    return [
        article
        for article in re.findall(r'<article class="card[^"]*">.*?</article>', html, flags=re.S)
        if f">{title}<" in article
    ]


def card(html: str, title: str) -> str:
    (found,) = cards(html, title)
    return found


def pages_showing(item) -> list[str]:
    return ["/", item.get_parent().url, f"/designers/{item.designer.slug}/", "/search/"]


def test_a_sale_shows_on_every_card_of_the_piece_at_once(client, tote, clutch):
    urls = pages_showing(tote)
    for url in urls:  # every card rendered and kept
        assert "badge--sold" not in card(client.get(url).content.decode(), tote.title)
    stock_set(item=tote, quantity=0, by=None)
    for url in urls:
        html = client.get(url).content.decode()
        if url == tote.get_parent().url:  # the other piece's card is untouched
            assert "badge--sold" not in card(html, clutch.title)
        if url == "/":  # new arrivals list only pieces for sale
            assert cards(html, tote.title) == []
            continue
        sold = card(html, tote.title)
        assert '<span class="badge badge--sold">Sold</span>' in sold, url
        assert "Sold, was" in sold, url


@pytest.mark.parametrize("kept", [0, 3600], ids=["parts rendered", "parts kept"])
def test_a_reserved_card_is_for_sale_again_when_its_hold_ends(
    client, shop, tote, settings, monkeypatch, kept
):
    settings.VITRINE_FRAGMENT_SECONDS = kept  # the shop page's shared parts (fragments)
    ItemPage.objects.filter(pk=tote.pk).update(held_until=timezone.now() + timedelta(minutes=5))
    assert "badge--reserved" in card(client.get(shop.url).content.decode(), tote.title)
    # A hold runs out without any write or invalidation: the card must notice by itself.
    later = timezone.now() + timedelta(minutes=5, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert "badge--reserved" not in card(client.get(shop.url).content.decode(), tote.title)


def test_a_renamed_shop_shows_on_its_cards(client, shop, tote):
    assert "Maison Lune" in card(client.get("/").content.decode(), tote.title)
    shop.title = "Maison Soleil"
    shop.save_revision().publish()
    assert "Maison Soleil" in card(client.get("/").content.decode(), tote.title)


def test_each_shopper_sees_only_their_own_hearts_on_shared_cards(shop, tote, clutch):
    ada, grace = Client(), Client()
    ada.force_login(UserFactory(username="ada"))
    grace.force_login(UserFactory(username="grace"))
    ada.post("/saved/add/", {"item": tote.pk})
    grace.post("/saved/add/", {"item": clutch.pk})

    def pressed(client, item) -> str:
        heart = card(client.get(shop.url).content.decode(), item.title)
        return re.search(r'aria-pressed="(\w+)"', heart).group(1)

    # Ada's request renders and stores both cards; Grace's reuses them, and then Ada's again.
    assert (pressed(ada, tote), pressed(ada, clutch)) == ("true", "false")
    assert (pressed(grace, tote), pressed(grace, clutch)) == ("false", "true")
    assert (pressed(ada, tote), pressed(ada, clutch)) == ("true", "false")
    # A first-time visitor gets the plain link, with nobody's state and no CSRF token.
    html = Client().get(shop.url).content.decode()
    assert "aria-pressed" not in html and "csrfmiddlewaretoken" not in html
    assert f'href="/saved/add/?item={tote.pk}&amp;next=' in card(html, tote.title)


def test_each_request_has_its_own_csrf_token_in_the_hearts(shop, tote):
    ada = Client()
    ada.force_login(UserFactory(username="ada"))
    tokens = set()
    for _ in range(2):
        html = ada.get(shop.url).content.decode()
        (token,) = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
        tokens.add(token)
    assert len(tokens) == 2  # masked afresh per request, never the stored card's


def test_a_page_of_known_cards_renders_no_card_template(client, shop, tote, clutch, monkeypatch):
    """The guard on the gain: a second view of a page draws its cards from the cache (the card
    template is not rendered again, and their pictures are not loaded)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from home.templatetags import cards as card_tags

    rendered = []
    render = card_tags._render
    monkeypatch.setattr(card_tags, "_render", lambda item, request: [
        rendered.append(item.title), render(item, request)][1])  # fmt: skip
    first = client.get(shop.url)
    assert sorted(rendered) == sorted([tote.title, clutch.title])
    rendered.clear()
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/")
    assert rendered == []
    assert not [q for q in queries if "customrendition" in q["sql"]]
    # The same card, but for the heart: it leads back to the page it is on.
    shared, _, heart = card(again.content.decode(), tote.title).partition('<a id="save-')
    assert shared == card(first.content.decode(), tote.title).partition('<a id="save-')[0]
    assert "next=/%23save-" in heart


def test_a_page_with_one_changed_card_reads_no_picture_again(client, shop, tote):
    """A sale renders one card of the page again: its cover comes from the pictures kept
    under their own tags, and no card's picture is read from the database."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    others = [ItemPageFactory(parent=shop, title=f"Scarf {n}", with_image=True) for n in range(3)]
    client.get(shop.url)  # every card kept
    stock_set(item=others[0], quantity=0, by=None)  # sold: its card changes
    with CaptureQueriesContext(connection) as queries:
        page = client.get(shop.url)
    assert "Sold" in card(page.content.decode(), "Scarf 0")
    assert "<img" in card(page.content.decode(), "Scarf 0")
    assert not [q for q in queries if "marketplace_custom" in q["sql"]]


def test_a_replaced_picture_shows_on_every_page_at_once(client, tote, clutch):
    """Replacing a picture's file deletes its renditions (their files go too): every page
    and card that showed them shows the new ones at once."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from marketplace.factories import ImageFactory

    urls = pages_showing(tote)
    before = {url: card(client.get(url).content.decode(), tote.title) for url in urls}
    old_src = re.search(r'src="([^"]+)"', before["/"]).group(1)
    image = tote.gallery_images.get().image
    replacement = ImageFactory.build().file
    image.file = SimpleUploadedFile("replaced.png", replacement.read())
    image.save()
    image.renditions.all().delete()  # as Wagtail's image edit view does with a new file
    for url in urls:
        shown = card(client.get(url).content.decode(), tote.title)
        assert old_src not in shown, url
        assert "replaced" in shown, url


def test_a_card_escapes_what_vendors_type(client, site_tree):
    shop = ShopPageFactory(title='Maison "Lune" & <i>Co</i>')
    ItemPageFactory(parent=shop, title='Tote <b>"big"</b>', designer__name="A & <B>")
    html = card(client.get(shop.url).content.decode(), "Tote &lt;b&gt;&#34;big&#34;&lt;/b&gt;")
    assert "<b>" not in html and "<i>" not in html and "<B>" not in html
    assert ">Maison &#34;Lune&#34; &amp; &lt;i&gt;Co&lt;/i&gt;</a>" in html
    assert '<p class="card__designer">A &amp; &lt;B&gt;</p>' in html
