"""Each release keeps its own cache entries (marketplace.release, ResilientRedisCache)."""

import shutil

import pytest

from marketplace.cache import ResilientRedisCache
from marketplace.release import digest, release
from tests.servers import TEST_REDIS_URL, USES_TEST_REDIS


def _tree(root):
    (root / "shop" / "templates").mkdir(parents=True)
    (root / "shop" / "models.py").write_text("class Card: pass\n")
    (root / "shop" / "templates" / "card.html").write_text("<li>{{ title }}</li>\n")
    (root / "static" / "css").mkdir(parents=True)
    (root / "static" / "css" / "site.css").write_text("body {}\n")
    return root


def test_the_digest_follows_the_code_templates_and_static_sources_wherever_they_are(tmp_path):
    tree = _tree(tmp_path / "a")
    first = digest(tree)
    assert digest(shutil.copytree(tree, tmp_path / "elsewhere")) == first
    for path, text in [
        ("shop/models.py", "class Card:\n    size = 2\n"),
        ("shop/templates/card.html", "<li class=card>{{ title }}</li>\n"),
        ("static/css/site.css", "body { margin: 0 }\n"),
    ]:
        changed = shutil.copytree(tree, tmp_path / path.replace("/", "-"))
        (changed / path).write_text(text)
        assert digest(changed) != first, path


def test_tests_documentation_tools_and_hidden_directories_are_not_the_release(tmp_path):
    tree = _tree(tmp_path / "a")
    first = digest(tree)
    for directory in ["tests", "docs", "bench", ".venv", "__pycache__", "shop/tests"]:
        (tree / directory).mkdir(parents=True, exist_ok=True)
        (tree / directory / "extra.py").write_text("x = 1\n")
    (tree / "README.md").write_text("notes\n")
    assert digest(tree) == first


def test_the_deploy_can_name_the_release(settings):
    settings.VITRINE_RELEASE = "4f2a9c1"
    assert release() == "4f2a9c1"
    settings.VITRINE_RELEASE = ""
    assert release() == digest(settings.BASE_DIR)


@USES_TEST_REDIS
def test_a_release_never_reads_what_another_release_cached():
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("needs the local Redis")

    def backend(name: str) -> ResilientRedisCache:
        cache = ResilientRedisCache(TEST_REDIS_URL, {"KEY_PREFIX": "release-test"})
        cache.release = name  # what marketplace.release says for that code
        return cache

    old, new, new_too = backend("old"), backend("new"), backend("new")
    try:
        old.set("card:1", "<li>old markup</li>")
        assert new.get("card:1") is None
        new.set("card:1", "<li>new markup</li>")
        assert new_too.get("card:1") == "<li>new markup</li>"  # another process, same code
        assert old.get("card:1") == "<li>old markup</li>"
    finally:
        old.clear()
