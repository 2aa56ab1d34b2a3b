"""The search rows (products.listing): one per live piece, in step with its page through
publish, withdrawal, drafts, copies, moves, category changes and deletion; `rebuild` gives the
same rows in one statement."""

from decimal import Decimal

from django.db import connection

from wagtail.search.models import IndexEntry

import pytest

from products import listing
from products.factories import CategoryFactory, DesignerFactory, ItemPageFactory
from products.models import ItemPage, ListedItem
from vendors.factories import ShopPageFactory

pytestmark = pytest.mark.django_db

COLUMNS = ("path", "shop_path", "designer_id", "category_id", "category_parent_id",
           "condition", "price", "listed_at")  # fmt: skip


def rows() -> dict[int, tuple]:
    return {row[0]: row[1:] for row in ListedItem.objects.values_list("item_id", *COLUMNS)}


def expected(*items: ItemPage) -> dict[int, tuple]:
    """What each live piece's row should hold, read from its page as it is now."""
    fresh = ItemPage.objects.filter(pk__in=[i.pk for i in items]).select_related("category")
    return {
        item.pk: (item.path, item.path[:-4], item.designer_id, item.category_id,
                  item.category.parent_id, item.condition, item.price, item.listed_at)
        for item in fresh
        if item.live
    }  # fmt: skip


@pytest.fixture
def piece():
    bags = CategoryFactory(name="Bags")
    return ItemPageFactory(
        title="Cognac leather tote",
        category=CategoryFactory(name="Totes", parent=bags),
        price=Decimal("650.00"),
        description="<p>Hand-stitched edges.</p>",
    )


def test_a_live_piece_has_its_row_and_a_withdrawn_one_none(piece):
    assert rows() == expected(piece)
    assert rows()[piece.pk][1] == piece.get_parent().path

    piece.unpublish()
    assert rows() == {}

    piece.save_revision().publish()
    assert rows() == expected(piece)


def test_a_publish_writes_the_new_values_and_a_draft_none(piece):
    piece.price = Decimal("700.00")
    piece.save_revision()  # a draft: the shop still sells it at 650
    assert rows()[piece.pk][6] == Decimal("650.00")

    ItemPage.objects.get(pk=piece.pk).get_latest_revision().publish()
    assert rows()[piece.pk][6] == Decimal("700.00")


def test_a_copy_kept_live_gets_its_own_row(piece):
    copy = piece.copy(update_attrs={"slug": "tote-2", "title": "Tote two"}, keep_live=True)
    assert rows() == expected(piece, copy)


def test_a_move_gives_the_rows_their_new_paths(piece):
    other = ShopPageFactory()
    piece.move(other, pos="last-child")
    assert rows() == expected(piece)
    assert rows()[piece.pk][1] == other.path


def test_a_shop_moved_takes_its_pieces_rows_along(piece):
    shop = piece.get_parent()
    shop.move(ShopPageFactory(), pos="last-child")  # an admin's doing: shops sit under shops
    assert rows() == expected(piece)


def test_a_category_given_a_parent_moves_its_pieces_rows(piece):
    watches = CategoryFactory(name="Watches")
    watch = ItemPageFactory(category=watches)
    accessories = CategoryFactory(name="Accessories")
    watches.parent = accessories
    watches.save()
    assert rows()[watch.pk][4] == accessories.pk
    assert rows() == expected(piece, watch)


def test_deleting_the_page_deletes_its_row(piece):
    piece.delete()
    assert rows() == {}


def test_rebuild_gives_the_rows_kept_one_by_one(piece):
    """From the pages and the index entries in one statement, the text of a piece not yet
    indexed computed as a publish does."""
    withdrawn = ItemPageFactory(title="Withdrawn")
    withdrawn.unpublish()
    ItemPageFactory(designer=DesignerFactory(), title="Another")
    kept = rows()
    documents = dict(ListedItem.objects.values_list("item_id", "document"))
    # One piece's index entry not written yet (its indexing task still queued).
    IndexEntry.objects.filter(object_id=str(piece.pk)).delete()

    assert listing.rebuild() == len(kept) == 2
    assert rows() == kept
    assert dict(ListedItem.objects.values_list("item_id", "document")) == documents


@pytest.mark.skipif(connection.vendor != "postgresql", reason="text is kept on PostgreSQL")
def test_the_row_keeps_the_text_wagtails_index_entry_has(piece):
    """The vectors written with the row are those of Wagtail's own index entry (weights
    included): search matches and ranks on the row alone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT li.document = ie.title || ie.body FROM products_listeditem li "
            "JOIN wagtailsearch_indexentry ie ON ie.object_id = li.item_id::text "
            "JOIN django_content_type ct ON ct.id = ie.content_type_id AND ct.model = 'itempage'"
        )
        assert cursor.fetchall() == [(True,)]
    assert ListedItem.objects.filter(document="leather").count() == 1


def test_every_write_of_rows_is_recorded_for_kept_matches_to_catch_up(piece):
    """products.matches catches up with the rows recorded as changed: a publish or a
    withdrawal records its piece; a move, a category given another parent or a rebuild may
    change any row, and say so (None)."""
    from products.models import ListingChange

    def recorded(change) -> list[int | None]:
        ListingChange.objects.all().delete()
        change()
        return list(ListingChange.objects.values_list("item_id", flat=True))

    assert recorded(lambda: ItemPage.objects.get(pk=piece.pk).unpublish()) == [piece.pk]
    assert recorded(lambda: piece.save_revision().publish()) == [piece.pk]
    assert recorded(lambda: piece.move(ShopPageFactory(), pos="last-child")) == [None]
    totes = piece.category
    assert recorded(lambda: setattr(totes, "parent", None) or totes.save()) == [None]
    assert recorded(lambda: totes.save()) == []  # nothing moved: nothing to catch up
    assert recorded(listing.rebuild) == [None]
    ListingChange.objects.create(item_id=piece.pk, at=0)  # long ago
    piece.save_revision().publish()
    assert not ListingChange.objects.filter(at=0).exists()  # forgotten at the next write
