"""`reindex_search`: pieces inserted in bulk (no signals, so no index entries) become
searchable; progress is a bar on a terminal and plain lines in logs."""

import io
import sys
from decimal import Decimal

from django.core.management import call_command

import pytest

from marketplace.bulk import bulk_add_children
from products.factories import CategoryFactory, DesignerFactory
from products.models import ItemPage
from products.text_search import text_matches
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def bulk_item(site_tree):
    """A piece added the way `load_demo --items` adds them: straight into the tables."""
    shop = ShopPageFactory(title="Maison Lune")
    designer = DesignerFactory(name="Aubergine Atelier")
    (item,) = bulk_add_children(
        parent=shop,
        pages=[
            ItemPage(
                title="Quokka velvet evening bag",
                slug="quokka-velvet-evening-bag",
                designer=designer,
                category=CategoryFactory(),
                condition=ItemPage.Condition.EXCELLENT,
                price=Decimal("640.00"),
                description="<p>Midnight zanzibar silk lining.</p>",
            )
        ],
    )
    return item


def found(words: str) -> list[int]:
    matches = text_matches(ItemPage.objects.live(), words)
    return list(matches.values_list("pk", flat=True))


def reindex(*args) -> str:
    out = io.StringIO()
    call_command("reindex_search", *args, stdout=out)
    return out.getvalue()


def test_a_piece_inserted_without_indexing_becomes_searchable(bulk_item, capsys):
    assert found("quokka") == []  # bulk inserts skip Wagtail's indexing signals
    out = reindex()
    assert found("quokka") == [bulk_item.pk]
    assert found("zanzibar") == [bulk_item.pk]  # the description
    assert found("aubergine") == [bulk_item.pk]  # the designer's name
    assert "items: 1 indexed." in out and "shops: 1 indexed." in out
    assert "designers:" in out and "categories:" in out
    assert "Search rows: " in out

    reindex()  # again: entries are updated, not duplicated
    assert found("quokka") == [bulk_item.pk]


def test_only_the_models_asked_for(bulk_item, capsys):
    out = reindex("--model", "shops")
    assert "shops: 1 indexed." in out and "items:" not in out
    assert "Search rows" not in out  # the items' search rows are the items' own
    assert found("quokka") == []


def test_progress_is_plain_lines_when_not_on_a_terminal(bulk_item, capsys):
    reindex("--model", "items")
    err = capsys.readouterr().err
    assert "Indexing items: 100% (1/1)\n" in err
    assert "\r" not in err


def test_progress_is_a_bar_on_a_terminal(bulk_item, monkeypatch):
    terminal = TTY()
    monkeypatch.setattr(sys, "stderr", terminal)
    reindex("--model", "items")
    err = terminal.getvalue()
    assert "\r" in err and "Indexing items: 100%|" in err and "1/1" in err
