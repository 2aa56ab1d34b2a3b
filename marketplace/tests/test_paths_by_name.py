"""Redirects name the URL they go to (`redirect("orders:cart")`), never write its path: a path
written by hand drifts silently when the URL changes, a name fails loudly (NoReverseMatch)."""

import re
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parents[2]
# `redirect("/cart/")`, `redirect(f"/checkout/pay/{ref}/")`, `HttpResponseRedirect('/x/')`.
# The bare root `redirect("/")` is allowed: the home page is a Wagtail page, with no URL name.
HARD_CODED_REDIRECT = re.compile(r"""(?:\bredirect|HttpResponseRedirect)\(\s*[rbf]*["']/[^"'\s]""")
SKIPPED_DIRS = {".venv", "node_modules", "tests", "migrations", "e2e", "bench", ".git"}
# Our apps' URL modules: each pattern there is reversed by its name.
OUR_URLCONFS = {"orders.urls", "accounts.urls", "saved.urls", "policies.urls", "products.urls"}


def _source_files():
    for path in ROOT.rglob("*.py"):
        parts = set(path.relative_to(ROOT).parts[:-1])
        if parts & SKIPPED_DIRS or path.name.startswith("test_") or path.name == "conftest.py":
            continue
        yield path


def _hard_coded_redirects(text: str) -> list[str]:
    return [match.group(0) for match in HARD_CODED_REDIRECT.finditer(text)]


def test_the_scan_catches_literal_paths_and_allows_names():
    assert _hard_coded_redirects('return redirect("/cart/")')
    assert _hard_coded_redirects("return redirect(f'/checkout/pay/{order.reference}/')")
    assert _hard_coded_redirects('return HttpResponseRedirect("/account/")')
    assert not _hard_coded_redirects('return redirect("orders:pay", reference=ref)')
    assert not _hard_coded_redirects('return redirect("/")')
    assert not _hard_coded_redirects("return redirect(safe_next_url(request, fallback))")


def test_no_redirect_to_a_hard_coded_path_in_the_source():
    files = list(_source_files())
    assert any(path.match("orders/views.py") for path in files)  # the scan does see the apps
    found = [
        f"{path.relative_to(ROOT)}: {hit}"
        for path in files
        for hit in _hard_coded_redirects(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "redirect by URL name instead (redirect('app:name', ...)):\n" + "\n".join(
        found
    )


def _patterns(resolver: URLResolver, urlconf: str | None = None):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            name = entry.urlconf_name if isinstance(entry.urlconf_name, str) else None
            yield from _patterns(entry, name or getattr(entry.urlconf_module, "__name__", None))
        elif isinstance(entry, URLPattern):
            yield urlconf, entry


def test_every_url_of_our_apps_has_a_name():
    ours = [(conf, p) for conf, p in _patterns(get_resolver()) if conf in OUR_URLCONFS]
    assert {conf for conf, _ in ours} == OUR_URLCONFS
    assert [f"{conf}: {p.pattern}" for conf, p in ours if not p.name] == []
