"""Schemathesis over the whole OpenAPI, against the app on SQLite and on PostgreSQL.

Every operation the app documents gets requests generated from its own schema (positive mode:
each request is valid by the OpenAPI), sent as the admin. Two checks hold for every answer:
no server error, and the body matches the schema the OpenAPI declares for its status (problem
documents included). A small world is seeded first so that codes and ids in the generated
requests sometimes exist and the requests reach the services, not only the 404s.

Requests that are valid by the schema but still refused (4xx) are counted by operation, status
and problem type and printed (`-s` shows them): most are unknown codes and ids (404) and rules
the schema cannot say (a pool larger than the stock, a barcode's check digit).

Examples per operation come from the hypothesis profile (`tests/examples.py`): 25 in CI (about
30 s for both databases; enough to find every 500 the issue listed), ten times as many in the
long run (`make test-long`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api.conftest import ADMIN_KEY
from tests.api.http_builders import Client, a_location, a_sku, ok
from tests.examples import examples

EXAMPLES = examples(25)
CHECKS = [not_a_server_error, response_schema_conformance]


def _seed_world(client: Client) -> None:
    """Codes the OpenAPI's examples and generated strings are likely to hit."""
    for code in ("0", "A", "DC-CHIBA"):
        a_location(client, code)
        a_sku(client, code)
    ok(
        client.post(
            "/v1/stock/movements",
            headers={"Idempotency-Key": "fuzz-seed"},
            json={"type": "receipt", "sku": "A", "location": "DC-CHIBA", "quantity": 100},
        ),
        201,
    )
    for code, kind in (("0", "storefront"), ("A", "rakuten")):
        ok(
            client.post(
                "/v1/channels",
                json={"code": code, "name": code, "kind": kind, "locations": ["DC-CHIBA"]},
            ),
            201,
        )


def _send(client: Client, case: Case[Any]) -> Any:
    """The case through the app's own test client (lifespan and worker already running)."""
    sent = case.as_transport_kwargs(base_url=str(client.base_url).rstrip("/"))
    headers = {k: v for k, v in (sent.get("headers") or {}).items() if k.lower() != "authorization"}
    headers["Authorization"] = f"Bearer {ADMIN_KEY}"
    body: dict[str, Any] = {}
    if "json" in sent:
        body["json"] = sent["json"]
    elif sent.get("data") is not None:
        body["content"] = sent["data"]
    return client.request(
        sent["method"], sent["url"], params=sent.get("params"), headers=headers, **body
    )


def _reason(response: Any) -> str:
    if "json" not in response.headers.get("content-type", ""):
        return str(response.status_code)
    problem = response.json()
    return f"{response.status_code} {problem.get('type')} {problem.get('field') or ''}".strip()


def test_every_operation_answers_within_its_schema_and_never_with_a_server_error(
    client: Client,
) -> None:
    _seed_world(client)
    schema = schemathesis.openapi.from_dict(ok(client.get("/schema/openapi.json")))
    operations: list[APIOperation[Any, Any, Any, Any]] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) > 40, "the OpenAPI lost its operations"
    run = FuzzRun()
    for operation in operations:
        run.fuzz(client, operation)

    print(f"\n{sum(run.answered.values())} schema-valid requests over {len(operations)} operations")
    print(f"{sum(run.refused.values())} refused (4xx):")
    for reason, count in sorted(run.refused.items(), key=lambda item: -item[1]):
        print(f"  {count:4d}  {reason}")
    assert not run.failures, "\n\n".join(run.failures)
    assert set(run.answered) == {op.label for op in operations}, "an operation was never called"


class FuzzRun:
    """What the generated requests got: answers per operation, refusals by reason, failures."""

    def __init__(self) -> None:
        self.answered: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.failures: list[str] = []

    def fuzz(self, client: Client, operation: APIOperation[Any, Any, Any, Any]) -> None:
        label = operation.label

        @seed(0)  # the same requests every run: a failure is reproducible, not flaky
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def send_one(case: Case[Any]) -> None:
            response = _send(client, case)
            self.answered[label] += 1
            if 400 <= response.status_code < 500:
                self.refused[f"{label}: {_reason(response)}"] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, FailureGroup) as failure:
                self.failures.append(f"{label}: {str(failure)[:600]}")

        send_one()
