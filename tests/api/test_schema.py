"""The API's OpenAPI 3 schema at /api/v1/schema and its reference page at /api/v1/docs: public,
complete, and the page keeps to the site's Content-Security-Policy (no inline script, nothing
from another host)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(admin_user: Any) -> dict[str, Any]:
    response = Client().get("/api/v1/schema")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_the_schema_is_openapi_3_and_every_operation_needs_a_token(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"] == {
        "TokenAuth": {"type": "http", "scheme": "bearer"}
    }
    operations = [op for methods in schema["paths"].values() for op in methods.values()]
    assert len(operations) == 13
    for operation in operations:
        assert operation["security"] == [{"TokenAuth": []}], operation["operationId"]
        responses = operation["responses"]
        for status in ("401", "403", "404", "422", "429"):
            assert list(responses[status]["content"]) == ["application/problem+json"]
        assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
        assert responses["429"]["headers"]["Retry-After"]["required"] is True


def test_key_exports_are_documented_as_files(schema: dict[str, Any]) -> None:
    for path in ("/api/v1/certificates/{certificate_id}/key", "/api/v1/requests/{request_id}/key"):
        content = schema["paths"][path]["post"]["responses"]["200"]["content"]
        assert set(content) == {"application/x-pem-file", "application/x-pkcs12"}


def test_the_reference_page_loads_nothing_inline_or_from_elsewhere(admin_user: Any) -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="swagger-ui"' in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    for asset in re.findall(r'(?:src|href)="(/static/ninja/[^"]+)"', html):
        assert Client().get(asset).status_code == 200, asset
