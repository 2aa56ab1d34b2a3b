""".env.example lists every environment variable the settings and gunicorn.conf.py read."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READERS = re.compile(r"""\b(?:env|env_bool|env_list|require_env)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
GUNICORN = re.compile(r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def listed() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.M))


def test_every_variable_the_settings_read_is_documented():
    read = {"DATABASE_URL"}  # read by dj_database_url.config()
    for path in (ROOT / "marketplace" / "settings").glob("*.py"):
        read |= set(READERS.findall(path.read_text()))
    read |= set(GUNICORN.findall((ROOT / "gunicorn.conf.py").read_text()))
    assert read - listed() == set()


def test_no_real_secret_in_the_example():
    text = (ROOT / ".env.example").read_text()
    assert re.search(r"^SECRET_KEY=$", text, re.M)
    assert not re.search(r"sk_live_[A-Za-z0-9]{8,}", text)
