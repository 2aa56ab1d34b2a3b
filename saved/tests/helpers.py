"""Helpers for the saved-list tests."""


def with_cookie(client):
    """A returning visitor: some cookie of ours, but no session yet."""
    client.cookies["csrftoken"] = "x" * 32
    return client
