"""The search form's facet options: written in one pass, every value and label escaped."""

from products.templatetags.search_tags import facet_options

SHOPS = [
    {"value": "lune", "label": "Maison Lune", "count": 3},
    {"value": 'a"b', "label": "<script>alert(1)</script> & Co", "count": 1},
]


def test_each_option_is_written_escaped_with_its_count_and_the_chosen_one_selected():
    assert facet_options(SHOPS, 'a"b') == (
        '<option value="lune">Maison Lune (3)</option>'
        '<option value="a&quot;b" selected>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co (1)'
        "</option>"
    )


def test_a_renamed_option_shows_its_new_name():
    facet_options(SHOPS, "")
    renamed = [{**SHOPS[0], "label": "Lune & Fils"}]
    assert facet_options(renamed, "lune") == (
        '<option value="lune" selected>Lune &amp; Fils (3)</option>'
    )
