"""Channel test data through the HTTP API: one call, sensible defaults, override the rest."""

from __future__ import annotations

from typing import Any

from tests.api.http_builders import Client, a_location, a_sku, ok, receive


def a_channel(
    client: Client, code: str = "RAKUTEN", locations: list[str] | None = None, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": f"Channel {code}",
        "kind": "rakuten",
        "locations": locations if locations is not None else ["DC-CHIBA"],
    }
    body.update(overrides)
    return ok(client.post("/v1/channels", json=body), 201)  # type: ignore[no-any-return]


def a_shop(client: Client, stock: int = 10) -> str:
    """DC-CHIBA and STORE-SHIBUYA, TEE-BLK-M with `stock` at the DC, RAKUTEN fed by the DC."""
    a_location(client, "DC-CHIBA")
    a_location(client, "STORE-SHIBUYA", kind="store", prefecture="13", postal_code="150-0002")
    a_sku(client, "TEE-BLK-M", attributes={"category": "tops"})
    if stock:
        receive(client, "TEE-BLK-M", "DC-CHIBA", stock)
    a_channel(client, "RAKUTEN", ["DC-CHIBA"])
    return "RAKUTEN"


def rules(client: Client, channel: str = "RAKUTEN") -> dict[str, Any]:
    return ok(client.get(f"/v1/channels/{channel}/rules"))  # type: ignore[no-any-return]


def changes(client: Client, **params: Any) -> list[dict[str, Any]]:
    return ok(client.get("/v1/rules/changes", params=params))["items"]  # type: ignore[no-any-return]
