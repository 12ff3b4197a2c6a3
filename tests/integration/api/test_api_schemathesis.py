"""schemathesis against the API's own OpenAPI, in-process, on the real services.

Every operation is called with generated (valid and invalid) input as an authenticated
user; no answer may be a 5xx or disagree with the documented status codes, content types,
headers or response schemas.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_fixtures import api_settings

from photostore.api.app import create_app
from photostore.api.config import Settings
from photostore.api.security import credential_hash, new_session_token

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def token(database_url: str) -> str:
    """A session for a fresh user, written straight to the database.

    One per operation: logging out or deleting the account must not leave the operations
    after it to run unauthenticated.
    """
    token = new_session_token()
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "INSERT INTO users (email, password_hash) VALUES (%s, 'x') RETURNING id",
            (f"fuzz-{uuid.uuid4().hex[:8]}@example.com",),
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (%s, %s, %s)",
            (credential_hash(token), row[0], datetime.now(UTC) + timedelta(hours=1)),
        )
    return token


@pytest.fixture(scope="module")
def api_schema(env: dict[str, str], database_url: str, bucket: str, topic: str) -> Any:
    app = create_app(
        api_settings(
            env,
            database_url=database_url,
            bucket=bucket,
            topic=topic,
            redis_prefix=f"photostore-fuzz:{uuid.uuid4().hex[:8]}:",
            rate_limit_requests=1_000_000,
            registrations_per_address=1_000_000,
            login_attempts_per_address=1_000_000,
            login_failures_per_account=1_000_000,
            bad_tokens_per_address=1_000_000,
            max_upload_bytes=1024 * 1024,
            background_tasks=False,
        )
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# schemathesis' negative generation trips a hypothesis deprecation (its own `random` use).
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """Every operation with valid input; those that take input also with invalid input."""
    spec = create_app(Settings(background_tasks=False)).openapi()
    cases = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            cases.append((path, method, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((path, method, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize(("path", "method", "mode"), _cases())
def test_no_server_errors_and_no_schema_violations(
    api_schema: Any, token: str, path: str, method: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    call()
