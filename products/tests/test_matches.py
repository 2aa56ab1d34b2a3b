"""products.matches: a facet's column of codes masks and counts as a plain count would, with
few values (bytes) and many (wider codes); matches caught up with changes, and spliced, are
what finding them again, and sorting them again, gives."""

import itertools
import pickle
import random
from collections import Counter

import numpy
import pytest

from products.matches import Criteria, Facet


@pytest.mark.parametrize("distinct", [1, 5, 64, 65, 256, 257, 3000, 70_000])
def test_a_facet_masks_and_counts_as_a_plain_count_would(distinct):
    rng = random.Random(distinct)
    column = [f"shop-{n}" for n in range(distinct)] if distinct > 5000 else []
    column += [f"shop-{rng.randrange(distinct)}" for _ in range(5000)]
    facet = Facet.of(column)
    values = len(set(column))
    assert facet.codes.typecode == ("B" if values <= 256 else "H" if values <= 65536 else "I")
    for start, stop in [(0, len(column)), (1234, 4321), (10, 10)]:
        run = column[start:stop]
        wanted = {column[start], "shop-unknown", *rng.sample(column, 3)}
        mask = facet.mask(slice(start, stop), wanted)
        passes = [value in wanted for value in run]
        assert mask.to_bytes(len(run), "little") == bytes(passes)
        assert facet.count(slice(start, stop), None) == Counter(run)
        through = bytes(rng.random() < 0.3 for _ in run)
        assert facet.count(slice(start, stop), through) == Counter(itertools.compress(run, through))


@pytest.mark.django_db
@pytest.mark.parametrize("terms", ["silk", None])
def test_matches_caught_up_are_the_matches_found_again(site_tree, terms):
    """After publishes (new pieces, new prices, designers, words) and a withdrawal, matches
    caught up hold what finding them again gives, column for column and in every order;
    after a change that may touch any row (a move), they are found again."""
    from decimal import Decimal

    from products.factories import DesignerFactory, ItemPageFactory
    from products.matches import caught_up, find
    from products.models import ItemPage
    from products.selectors import search_rows
    from vendors.factories import ShopPageFactory

    pieces = [ItemPageFactory(title=f"Silk scarf {n}", price=Decimal(100 + n)) for n in range(6)]
    ItemPageFactory(title="Wool coat")
    kept = find(search_rows(), terms)
    assert kept is not None and len(kept) == (6 if terms else 7)

    def publish(piece, **changes):
        piece = ItemPage.objects.get(pk=piece.pk)
        for name, value in changes.items():
            setattr(piece, name, value)
        piece.save_revision().publish()

    publish(pieces[0], price=Decimal("999.00"))
    publish(pieces[1], title="Cashmere wrap")  # no longer about silk
    publish(pieces[2], designer=DesignerFactory())
    ItemPage.objects.get(pk=pieces[3].pk).unpublish()
    ItemPageFactory(title="Silk tie", price=Decimal("100.00"))  # ties on price with scarf 0
    caught = caught_up(kept, search_rows(), terms)
    again = find(search_rows(), terms)
    assert caught is not None and again is not None
    assert caught.rows() == again.rows()  # in price order, every column
    assert list(caught.by_relevance) == list(again.by_relevance)
    assert list(caught.by_newest) == list(again.by_newest)
    assert caught.as_of > kept.as_of

    pieces[4].move(ShopPageFactory(), pos="last-child")
    assert caught_up(caught, search_rows(), terms) is None


@pytest.mark.parametrize("seed", range(60))
def test_matches_patched_are_the_matches_sorted_again(seed):
    """Spliced in place (Matches.patched), matches with some pieces taken out and others put
    in are what sorting them all again gives: every column, every order, ties on price, score
    and date included, new facet values too (and more than a byte of codes can hold)."""
    from products.matches import Matches

    rng = random.Random(seed)
    shops = 300 if seed % 10 == 0 else 8

    def row(pk: int) -> tuple:
        category = rng.randrange(5)
        return (pk, rng.randrange(4), category, category // 2 or None,
                rng.choice(["new", "good"]), f"shop-{rng.randrange(shops)}",
                rng.choice([900, 1000, 1000, 2500]), rng.choice([0.0, 0.5, 0.5, 1.25]),
                rng.choice([10, 20, 20, 30]))  # fmt: skip

    n = rng.choice([0, 1, 5, 200])
    rows = [row(pk) for pk in rng.sample(range(1, 1000), n)]
    matches = Matches.of(rows, as_of=1.0)
    changed = set(rng.sample([r[0] for r in rows], min(n, rng.randrange(4))))
    changed |= set(rng.sample(range(1000, 1100), rng.randrange(4)))  # new pieces
    fresh = [row(pk) for pk in changed if rng.random() < 0.6]
    patched = matches.patched(changed, fresh, as_of=2.0)
    again = Matches.of([r for r in rows if r[0] not in changed] + fresh, as_of=2.0)
    assert patched.rows() == again.rows()
    assert list(patched.by_relevance) == list(again.by_relevance)
    assert list(patched.by_newest) == list(again.by_newest)
    # Categories no longer among the matches may stay: no match has them.
    assert patched.parents.items() >= again.parents.items() and patched.as_of == 2.0


@pytest.mark.django_db
def test_columns_sent_as_postgresql_arrays_read_as_their_values():
    """PostgreSQL sends kept matches' columns as array_send's bytes: integers, doubles and
    timestamps (microseconds since 1970; never listed, -infinity, the oldest: -1) read as
    the values they are, and no rows as no values."""
    from django.db import connection

    from products.matches import _column

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's binary arrays")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_send(ARRAY[-1, 0, 9007199254740993]::bigint[]),"
            " array_send(ARRAY[0.5, -2.25]::double precision[]),"
            " array_send(ARRAY['-infinity', '1970-01-01 00:00:00.000001+00',"
            " '2026-12-06 10:00:00.123456+00']::timestamptz[]),"
            " array_send('{}'::bigint[])"
        )
        integers, doubles, timestamps, empty = cursor.fetchone()
    assert _column(integers, "i8").tolist() == [-1, 0, 9007199254740993]
    assert _column(doubles, "f8").tolist() == [0.5, -2.25]
    assert _column(timestamps, "timestamp").tolist() == [-1, 1, 1_796_551_200_123_456]
    assert _column(empty, "i8").tolist() == []


@pytest.mark.parametrize("seed", range(40))
def test_matches_among_every_piece_are_the_matches_found_for_the_words(seed):
    """A search for words reads only their ids and scores and takes the rest from every
    piece's matches (Matches.among): what it gives is what the words' rows found in full
    give, every column and every order, ties included; pieces listed since every piece's
    were read come back to be read in full."""
    from products.matches import Matches

    rng = random.Random(seed)
    shops = 300 if seed % 10 == 0 else 8

    def row(pk: int, score: float = 0.0) -> tuple:
        category = rng.randrange(5)
        return (pk, rng.randrange(4), category, category // 2 or None,
                rng.choice(["new", "good"]), f"shop-{rng.randrange(shops)}",
                rng.choice([900, 1000, 1000, 2500]), score,
                rng.choice([10, 20, 20, 30]))  # fmt: skip

    every_row = {pk: row(pk) for pk in rng.sample(range(1, 1000), rng.choice([0, 1, 5, 300]))}
    every = Matches.of(list(every_row.values()), as_of=1.0)
    words = rng.sample(sorted(every_row), rng.randrange(len(every_row) + 1))
    since = rng.sample(range(1000, 1100), rng.randrange(3))  # listed after every was read
    scores = {pk: rng.choice([0.1, 0.5, 0.5, 1.25]) for pk in words + since}
    found = [*words, *since]
    rng.shuffle(found)
    matches, listed_since = every.among(
        numpy.array(found, "i8"), numpy.array([scores[pk] for pk in found], "d")
    )
    assert sorted(listed_since.tolist()) == sorted(since)
    expected = Matches.of([(*every_row[pk][:7], scores[pk], every_row[pk][8]) for pk in words], 1.0)
    assert matches.rows() == expected.rows()
    assert list(matches.by_relevance) == list(expected.by_relevance)
    assert list(matches.by_newest) == list(expected.by_newest)
    assert matches.as_of == every.as_of
    # Filters and counts over them, as over the words' own.
    for criteria in [Criteria(), Criteria(shop="shop-1", min_cents=1000), Criteria(category=2)]:
        assert matches.select(criteria).counts() == expected.select(criteria).counts()
    # Every piece's keep their places by id to themselves: not stored with them.
    assert "_place_of" not in pickle.loads(pickle.dumps(every)).__dict__


@pytest.mark.django_db
@pytest.mark.parametrize("terms", ["silk", "silk scarf", "nothing"])
def test_words_found_among_every_piece_are_the_words_found_in_full(site_tree, terms):
    """find with every piece's matches reads the words' ids and scores alone, and gives what
    reading their rows in full gives, a piece listed since every piece's were read too."""
    from decimal import Decimal

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from products.factories import ItemPageFactory
    from products.matches import find
    from products.selectors import search_rows

    for n in range(5):
        ItemPageFactory(title=f"Silk scarf {n}", price=Decimal(100 + n % 2))
    ItemPageFactory(title="Wool coat", description="<p>Silk lining.</p>")
    every = find(search_rows(), None)
    ItemPageFactory(title="Silk tie", price=Decimal("100.00"))  # listed since
    rows = search_rows()
    with CaptureQueriesContext(connection) as queries:
        among = find(rows, terms, every=every)
    in_full = find(rows, terms)
    assert among is not None and in_full is not None and every is not None
    assert among.rows() == in_full.rows()
    assert list(among.by_relevance) == list(in_full.by_relevance)
    assert list(among.by_newest) == list(in_full.by_newest)
    assert among.as_of == every.as_of  # a change since is caught up with
    assert "shop_path" not in queries[0]["sql"]  # ids and scores alone
    assert len(queries) == (2 if terms == "silk" else 1)  # the tie, listed since: read in full


@pytest.mark.parametrize("seed", range(30))
def test_words_joined_are_the_pieces_in_each_scored_by_the_sum(seed):
    """Several words' matches joined (matches.conjunction) hold the pieces every word
    matches, with each word's columns and the sum of the words' scores, in the words' order,
    in every order a search walks; as of the oldest."""
    from products.matches import Matches, conjunction

    rng = random.Random(seed)

    def piece(pk: int) -> tuple:  # a Row: id, designer, category, its parent, condition, ...
        return (pk, rng.randrange(4), 2, None, "good", f"shop-{rng.randrange(3)}",
                rng.choice([900, 1000, 2500]), 0.0, rng.choice([10, 20, 30]))  # fmt: skip

    pieces = {pk: piece(pk) for pk in range(1, 400)}
    each, scores = [], []
    for _word in range(rng.choice([2, 3, 4])):
        matched = rng.sample(sorted(pieces), rng.randrange(1, 300))
        scores.append({pk: rng.choice([0.1, 0.2, 0.7, 1.3]) for pk in matched})
        rows = [(*pieces[pk][:7], scores[-1][pk], pieces[pk][8]) for pk in matched]
        each.append(Matches.of(rows, as_of=rng.choice([5.0, 6.0, 7.0])))
    joined = conjunction(each)
    common = set.intersection(*(set(s) for s in scores))
    summed = {pk: sum((s[pk] for s in scores), 0.0) for pk in common}  # in the words' order
    expected = Matches.of([(*pieces[pk][:7], summed[pk], pieces[pk][8]) for pk in common], 0)
    assert joined.rows() == expected.rows()
    assert list(joined.by_relevance) == list(expected.by_relevance)
    assert list(joined.by_newest) == list(expected.by_newest)
    assert joined.as_of == min(matches.as_of for matches in each)


@pytest.mark.django_db
@pytest.mark.parametrize("terms", ["silk scarf", "scarf silk", "navy silk scarf", "silk moon"])
def test_each_words_matches_joined_are_the_words_found_together(site_tree, terms):
    """What the words' own matches make joined is what the database finds and scores for the
    words together, to the last bit of every score (each database sums the words' scores:
    products.text_search), so that a search made of kept words and one read in full agree."""
    from decimal import Decimal

    from products.factories import ItemPageFactory
    from products.matches import conjunction, find
    from products.selectors import search_rows
    from products.text_search import words

    texts = [
        ("Silk scarf", "<p>A navy silk scarf, hand rolled.</p>"),
        ("Navy scarf", "<p>Silk and cashmere; a scarf for navy coats.</p>"),
        ("Scarf", "<p>Silk.</p>"),
        ("Silk silk silk", "<p>Scarf, navy, navy.</p>"),
        ("Navy silk scarf", "<p>Silk scarf.</p>"),
        ("Wool coat", "<p>Silk lining, navy.</p>"),
        ("Scarf", "<p>Wool.</p>"),
    ]
    for n, (title, description) in enumerate(texts):
        ItemPageFactory(title=title, description=description, price=Decimal(100 + n % 3))
    rows = search_rows()
    together = find(rows, terms)
    joined = conjunction([find(rows, word) for word in words(terms)])
    assert together is not None and len(together) >= (0 if "moon" in terms else 4)
    assert joined.rows() == together.rows()
    assert list(joined.by_relevance) == list(together.by_relevance)
    assert list(joined.by_newest) == list(together.by_newest)
