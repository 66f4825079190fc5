"""Contract tests generated from the OpenAPI document (schemathesis, against the WSGI app).

Every operation, with valid and invalid inputs, with and without a valid key: no 5xx, and every
response (status, media type, body, headers) is one the document describes.
"""

from __future__ import annotations

import json

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from helpline.runtime import Runtime
from partners.openapi import document
from tests.conftest import PUBLIC
from tests.partners.conftest import bearer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
SECURED = {"createVoiceToken", "getFigures", "getPlatform"}
FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# The document is built once at import time (schemathesis 4's lazy `from_fixture` does not run
# under pytest 9); `test_the_served_document_is_the_one_tested` proves the app serves this one.
# Requests go to the test's app through WSGI (``app=``), on the test's Redis and clock.
schema = schemathesis.openapi.from_dict(document("/api/v1"))


def test_the_document_is_valid_openapi_3() -> None:
    """The document passes the OpenAPI 3.0 meta-schema; every operation has an id."""
    schema.validate()
    raw = document("/api/v1")
    assert raw["openapi"].startswith("3.0")
    ids = [op["operationId"] for item in raw["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) == 5


def test_the_served_document_is_the_one_tested(api: FlaskClient, runtime: Runtime) -> None:
    """/api/v1/openapi.json is the document above, with the public base URL as its server."""
    served = api.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.mimetype == "application/json"
    expected = document(PUBLIC + "/api/v1")
    assert served.get_json() == json.loads(json.dumps(expected))


@schema.parametrize()
@FAST
def test_api_without_a_valid_key_conforms_and_refuses(
    case: schemathesis.Case, papp: Flask, with_tokens: Runtime
) -> None:
    """Without a key (or with a made-up one) secured operations answer 401 problem+json."""
    response = case.call_and_validate(app=papp, checks=CHECKS)
    operation = case.operation
    if operation.definition.raw.get("operationId") in SECURED and case.method == operation.method:
        assert response.status_code == 401
        assert response.headers["content-type"][0] == "application/problem+json"


@schema.parametrize()
@FAST
def test_api_with_a_valid_key_conforms(
    case: schemathesis.Case, papp: Flask, with_tokens: Runtime, instagram_key: str
) -> None:
    """With Instagram's key every answer is documented and none is a server error."""
    response = case.call_and_validate(app=papp, headers=bearer(instagram_key), checks=CHECKS)
    if response.request.headers.get("Authorization") == f"Bearer {instagram_key}":
        assert response.status_code not in (401, 403)  # (some cases drop the header on purpose)
