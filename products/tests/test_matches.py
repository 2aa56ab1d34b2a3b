"""products.matches: a facet's column of codes masks and counts as a plain count would, with
few values (bytes), some (bytes, counted by a Counter) and many (wider codes)."""

import itertools
import random
from collections import Counter

import pytest

from products.matches import Facet


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
