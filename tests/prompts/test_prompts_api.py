"""/api/prompts: content-addressed versions, labels with an audit log, diffs, typed bodies."""

from __future__ import annotations

from typing import Any

import httpx

from common import prompts as P

MESSAGES = [{"role": "system", "content": "You answer for {{ product }}."},
            {"role": "user", "content": "{{ question }}"}]


def _push(url: str, project: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/api/prompts", json={"project": project, **body}, timeout=30)


def test_same_content_is_the_same_version_and_versions_are_never_rewritten(
        spyglass_server: Any, project: str) -> None:
    url = spyglass_server.url
    first = _push(url, project, name="qa", messages=MESSAGES, model="gpt-4o-mini",
                  params={"temperature": 0.2})
    assert first.status_code == 201, first.text
    v1 = first.json()
    assert (v1["version"], v1["created"]) == ("v1", True)
    content = P.content_of(messages=MESSAGES, model="gpt-4o-mini", params={"temperature": 0.2})
    assert v1["version_id"] == P.version_id(content)
    assert v1["variables"] == ["product", "question"]

    again = _push(url, project, name="qa", messages=MESSAGES, model="gpt-4o-mini",
                  params={"temperature": 0.2})
    assert again.status_code == 200
    assert (again.json()["version"], again.json()["created"]) == ("v1", False)

    changed = _push(url, project, name="qa", messages=MESSAGES, model="gpt-4o-mini",
                    params={"temperature": 0.7}).json()
    assert changed["version"] == "v2" and changed["version_id"] != v1["version_id"]
    # Pushing v1's content again (after v2) still answers v1: no v3.
    back = _push(url, project, name="qa", messages=MESSAGES, model="gpt-4o-mini",
                 params={"temperature": 0.2})
    assert back.status_code == 200 and back.json()["version"] == "v1"

    versions = httpx.get(f"{url}/api/prompts/qa/versions", params={"project": project}).json()
    assert [v["version"] for v in versions["versions"]] == ["v1", "v2"]
    assert versions["versions"][0]["content"] == content
    listed = httpx.get(f"{url}/api/prompts", params={"project": project}).json()["prompts"]
    assert [(p["name"], p["latest"], p["versions"]) for p in listed] == [("qa", "v2", 2)]

    diff = httpx.get(f"{url}/api/prompts/qa/diff",
                     params={"project": project, "a": "v1", "b": "v2"}).json()
    assert diff["same"] is False
    assert any(line.startswith("-") and "0.2" in line for line in diff["diff"])
    assert any(line.startswith("+") and "0.7" in line for line in diff["diff"])
    by_id = httpx.get(f"{url}/api/prompts/qa",
                      params={"project": project, "version": v1["version_id"][:10]}).json()
    assert by_id["version"] == "v1"


def test_labels_move_with_an_audit_entry(spyglass_server: Any, project: str) -> None:
    url = spyglass_server.url
    v1 = _push(url, project, name="support", text="Hi {{ name }}", label="production",
               author="alice").json()
    assert v1["labels"] == ["production"]
    v2 = _push(url, project, name="support", text="Hello {{ name }}!").json()
    got = httpx.get(f"{url}/api/prompts/support", params={"project": project, "label": "production"})
    assert got.json()["version"] == "v1"

    moved = httpx.post(f"{url}/api/prompts/support/labels",
                       json={"project": project, "label": "production", "version": "v2",
                             "author": "bob"})
    assert moved.status_code == 200, moved.text
    event = moved.json()
    assert (event["label"], event["from_version"], event["to_version"], event["author"]) == (
        "production", "v1", "v2", "bob")
    assert event["from_version_id"] == v1["version_id"]
    assert event["to_version_id"] == v2["version_id"]
    got = httpx.get(f"{url}/api/prompts/support", params={"project": project, "label": "production"})
    assert got.json()["version"] == "v2"
    # A label may be addressed like a version.
    assert httpx.post(f"{url}/api/prompts/support/labels",
                      json={"project": project, "label": "staging", "version": "production"}
                      ).json()["to_version"] == "v2"

    audit = httpx.get(f"{url}/api/prompts/support/labels", params={"project": project}).json()
    assert [(e["label"], e["from_version"], e["to_version"], e["author"]) for e in audit["events"]] == [
        ("production", None, "v1", "alice"), ("production", "v1", "v2", "bob"),
        ("staging", None, "v2", "anonymous")]
    assert all(e["at"].endswith("Z") for e in audit["events"])
    listed = httpx.get(f"{url}/api/prompts", params={"project": project}).json()["prompts"]
    assert listed[0]["labels"] == {"production": "v2", "staging": "v2"}


def test_bad_bodies_are_400_naming_the_field(spyglass_server: Any, project: str) -> None:
    url = spyglass_server.url
    cases = [
        ({"name": 3, "text": "x"}, "name"),
        ({"name": "ok", "text": "x", "colour": 1}, "colour"),
        ({"name": "ok", "messages": [{"role": "wizard", "content": "x"}]}, "role"),
        ({"name": "ok", "messages": [{"role": "user", "content": "x"}], "params": {"temperature": "hot"}},
         "temperature"),
        ({"name": "bad name!", "text": "x"}, "name"),
        ({"name": "ok"}, "messages"),
        ({"name": "ok", "text": "x", "label": "v3"}, "label"),
    ]
    for body, field in cases:
        answer = _push(url, project, **body)
        assert answer.status_code == 400, (body, answer.text)
        assert field in answer.json()["error"], (body, answer.json())
    missing = httpx.get(f"{url}/api/prompts/nope", params={"project": project})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    schema = httpx.get(f"{url}/schema/openapi.json").json()
    assert "PromptPush" in schema["components"]["schemas"]
    assert "LabelMove" in schema["components"]["schemas"]


def test_the_prompts_migration_is_recorded(spyglass_server: Any) -> None:
    # The collector applies 0200 to an existing data dir at start (spyglass_migrations).
    assert httpx.get(f"{spyglass_server.url}/api/prompts").status_code == 200
