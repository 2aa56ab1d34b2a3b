"""Small helpers shared by the API tests."""

import json

ENDPOINTS = ("shops", "items", "designers")


def get_json(client, url, params=None, status=200):
    response = client.get(url, params or {})
    assert response.status_code == status, (url, params, response.content[:500])
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def listed_ids(client, endpoint, params=None) -> set[int]:
    """Ids of everything the listing shows (one page of at most 50 is enough in tests)."""
    data = get_json(client, f"/api/v2/{endpoint}/", {"limit": 50, **(params or {})})
    assert data["meta"]["total_count"] == len(data["items"]), "more than one page"
    return {row["id"] for row in data["items"]}


def all_keys(value) -> set[str]:
    """Every key of every object in a decoded JSON document."""
    if isinstance(value, dict):
        return set(value) | {key for child in value.values() for key in all_keys(child)}
    if isinstance(value, list):
        return {key for child in value for key in all_keys(child)}
    return set()
