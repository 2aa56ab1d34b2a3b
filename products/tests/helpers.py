"""Helpers for the product tests."""

import json
import re

JSON_LD_RE = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def json_ld(html: str) -> dict:
    """The page's one JSON-LD block, parsed."""
    blocks = JSON_LD_RE.findall(html)
    assert len(blocks) == 1, "expected one JSON-LD block"
    return json.loads(blocks[0])
