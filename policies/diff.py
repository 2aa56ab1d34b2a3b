"""A readable diff between two published versions of a policy.

Each version becomes a list of text blocks (title, summary, effective date, then one block per
heading, paragraph and list entry, with rich text reduced to its text). Blocks are aligned with
difflib; a changed block is diffed word by word. The result is plain text segments tagged
"equal" / "insert" / "delete": templates escape them and wrap changes in <ins>/<del>, so
nothing from a policy body is ever output as HTML here.
"""

import difflib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

BLOCK_TAGS = {"p": "paragraph", "h2": "heading", "h3": "heading", "h4": "heading", "li": "item"}
SKIPPED_TAGS = {"script", "style"}
WORD = re.compile(r"\s+|\w+|[^\w\s]")
REWRITE_THRESHOLD = 0.6  # below this share of words in common, a block counts as rewritten


@dataclass(frozen=True)
class TextBlock:
    kind: str  # title, summary, effective, heading, paragraph, item
    text: str


@dataclass
class DiffRow:
    kind: str
    status: str  # same, added, removed, changed
    segments: list[tuple[str, str]] = field(default_factory=list)


class _RichTextBlocks(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[TextBlock] = []
        self._kind: list[str] = []
        self._text: list[str] = []
        self._skipping = 0

    def _flush(self):
        text = " ".join("".join(self._text).split())
        if text:
            self.blocks.append(TextBlock(self._kind[-1] if self._kind else "paragraph", text))
        self._text = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self._skipping += 1
        elif tag in BLOCK_TAGS:
            self._flush()
            self._kind.append(BLOCK_TAGS[tag])
        elif tag == "br":
            self._text.append(" ")

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in BLOCK_TAGS:
            self._flush()
            if self._kind:
                self._kind.pop()

    def handle_data(self, data):
        if not self._skipping:
            self._text.append(data)

    def close(self):
        super().close()
        self._flush()


def rich_text_blocks(html: str) -> list[TextBlock]:
    parser = _RichTextBlocks()
    parser.feed(html)
    parser.close()
    return parser.blocks


def version_blocks(version) -> list[TextBlock]:
    """The text of a PolicyChange (or anything with the same fields), block by block."""
    blocks = [
        TextBlock("title", version.title),
        TextBlock("summary", version.summary),
        TextBlock(
            "effective",
            f"Effective from {version.effective_from.day} {version.effective_from:%B %Y}",
        ),
    ]
    for block in version.body:
        if block.block_type == "heading":
            blocks.append(TextBlock("heading", " ".join(str(block.value).split())))
        elif block.block_type == "paragraph":
            blocks.extend(rich_text_blocks(block.value.source))
        elif block.block_type == "list":
            blocks.extend(TextBlock("item", " ".join(str(entry).split())) for entry in block.value)
    return blocks


def _merge(segments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for op, text in segments:
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        elif text:
            merged.append((op, text))
    return merged


def _similarity(old: str, new: str) -> float:
    return difflib.SequenceMatcher(a=WORD.findall(old), b=WORD.findall(new), autojunk=False).ratio()


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = WORD.findall(old), WORD.findall(new)
    segments = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.append(("equal", "".join(a[i1:i2])))
        else:
            if i1 != i2:
                segments.append(("delete", "".join(a[i1:i2])))
            if j1 != j2:
                segments.append(("insert", "".join(b[j1:j2])))
    return _merge(segments)


def diff_blocks(old: list[TextBlock], new: list[TextBlock]) -> list[DiffRow]:
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [DiffRow(b.kind, "same", [("equal", b.text)]) for b in new[j1:j2]]
            continue
        removed, added = old[i1:i2], new[j1:j2]
        # Pair blocks of the same kind in order: an edited paragraph reads as one changed row.
        while removed and added and removed[0].kind == added[0].kind:
            before, after = removed.pop(0), added.pop(0)
            if _similarity(before.text, after.text) < REWRITE_THRESHOLD:
                # Mostly rewritten: old and new in full read better than a patchwork of words.
                rows.append(DiffRow(before.kind, "removed", [("delete", before.text)]))
                rows.append(DiffRow(after.kind, "added", [("insert", after.text)]))
            else:
                rows.append(DiffRow(after.kind, "changed", word_diff(before.text, after.text)))
        rows += [DiffRow(b.kind, "removed", [("delete", b.text)]) for b in removed]
        rows += [DiffRow(b.kind, "added", [("insert", b.text)]) for b in added]
    return rows


def policy_diff(old, new) -> list[DiffRow]:
    return diff_blocks(version_blocks(old), version_blocks(new))
