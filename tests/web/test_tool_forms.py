"""The form on each tool's page (server/web/forms.py) through the real app: prefilled with the
first example, a plain form POST answers with the result table and the chart, and errors stand
next to the field they name. (tests/web/test_browser.py submits one in Chromium.)"""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.config import settings_for
from server.kb.notes import KnowledgeBase
from server.toolset.charts import has_chart
from server.web.app import create_app
from server.web.forms import example_values, parse_form
from tools.registry import all_tools

HOST = "http://127.0.0.1:8000"
FIELD = re.compile(r'<textarea id="field-([^"]+)" name="[^"]+"[^>]*>\n([^<]*)</textarea>')


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = settings_for(db=str(tmp_path_factory.mktemp("forms") / "bandit.sqlite"))
    with TestClient(create_app(settings, kb=KnowledgeBase.load(settings)), base_url=HOST) as c:
        yield c


def form_values(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in FIELD.findall(page)}


def chart_of(page: str) -> bytes:
    match = re.search(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert match, "no chart in the page"
    return base64.b64decode(match.group(1))


def test_every_tool_page_has_its_form_prefilled(client: TestClient) -> None:
    for name, spec in all_tools().items():
        response = client.get(f"/tools/{name}")
        assert response.status_code == 200
        assert "form-action 'self'" in response.headers["content-security-policy"]
        page = response.text
        assert f'<form class="try" id="try" method="post" action="/tools/{name}#result"' in page
        assert "<script" not in page
        values = form_values(page)
        assert set(values) == set(spec.input_model.model_json_schema()["properties"])
        for field, text in example_values(spec).items():
            assert values[field] == text
        # what the form sends is the example itself
        payload, _ = parse_form(
            spec, "&".join(f"{k}={v}" for k, v in _urlencoded(values).items()).encode()
        )
        assert payload == _json_like(dict(spec.examples[0].input))


def _urlencoded(values: dict[str, str]) -> dict[str, str]:
    from urllib.parse import quote

    return {quote(k): quote(v) for k, v in values.items()}


def _json_like(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))


@pytest.mark.parametrize("name", ["yield_spread_check", "ucb_simulate", "list_notes"])
def test_submitting_the_example_shows_the_result_and_the_chart(
    client: TestClient, name: str
) -> None:
    values = form_values(client.get(f"/tools/{name}").text)
    response = client.post(f"/tools/{name}", data=values)
    assert response.status_code == 200
    page = response.text
    section = page[page.index('<section id="result">') :]
    expected = client.post(
        f"/api/tools/{name}",
        json=dict(all_tools()[name].examples[0].input) if name in all_tools() else {},
    ).json()
    for field in expected:
        assert f"<tr><th>{field}</th>" in section
    if has_chart(name):
        root = ET.fromstring(chart_of(page))
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    else:
        assert "data:image/svg+xml" not in page


def test_errors_stand_next_to_their_field(client: TestClient) -> None:
    values = form_values(client.get("/tools/ucb_simulate").text)
    values["probs"] = "[0.2, 1.5]"
    response = client.post("/tools/ucb_simulate", data=values)
    assert response.status_code == 422
    page = response.text
    error = re.search(r'<p class="field-error" id="error-probs" role="alert">([^<]*)</p>', page)
    assert error and "probs.1" in html.unescape(error.group(1))
    # right after the field, which keeps what was typed
    field_end = page.index('id="field-probs"')
    assert page.index('id="error-probs"') > field_end
    assert page.index("</textarea>", field_end) < page.index('id="error-probs"')
    assert "[0.2, 1.5]" in form_values(page)["probs"]
    assert '<section id="result">' not in page
    # an unknown field is named above the form
    response = client.post("/tools/ucb_simulate", data={**values, "probs": "[0.2]", "nope": "1"})
    assert response.status_code == 422
    assert re.search(r'<p class="form-error" role="alert">nope: expected only', response.text)


def test_text_that_is_not_json_is_a_string(client: TestClient) -> None:
    spec = all_tools()["yield_spread_check"]
    payload, values = parse_form(spec, b"date=2025-07-11&fed_funds_lower=4.25&curve=")
    assert payload == {"date": "2025-07-11", "fed_funds_lower": 4.25}
    assert values["curve"] == ""


def test_form_post_needs_a_form_body(client: TestClient, repo: Path) -> None:
    response = client.post("/tools/ucb_simulate", json={"probs": [0.5]})
    assert response.status_code == 422
    assert "Content-Type: expected application/x-www-form-urlencoded" in html.unescape(
        response.text
    )
