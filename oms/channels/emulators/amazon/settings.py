"""What the Amazon emulator accepts and how it behaves, as one settings object.

Defaults follow ../shared/contracts/README.md section 1 (Amazon's published defaults). Facts the
contract marks unverified [U] are settings, so a run can match whatever the real API turns out to
do: the answer to a package confirmed twice, the issue codes of a feed's processing report, the
LWA token endpoint's own limit. Tests and the benchmark change them through `/_emulator/settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

# operationId -> (requests per second, burst): the usage plans in Amazon's models (2026-08).
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getOrderAddress": (0.5, 30),
    "getOrderBuyerInfo": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "searchOrders": (0.0056, 20),
    "getOrder2026": (0.5, 30),  # Orders API 2026-01-01 getOrder (its own bucket)
    "patchListingsItem": (5.0, 5),
    "getListingsItem": (5.0, 10),
    "searchListingsItems": (5.0, 5),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    # JSON_LISTINGS_FEED's own limit: 5 submissions per 5 minutes per region (2025-05-06).
    "createFeed:JSON_LISTINGS_FEED": (5 / 300, 5),
    "getFeed": (2.0, 15),
    "cancelFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "createRestrictedDataToken": (1.0, 10),
    # LWA publishes no limit for the token endpoint [U]: generous, configurable.
    "lwaToken": (1.0, 10),
}

FAULTS = frozenset({"throttle", "5xx", "auth", "timeout", "slow", "feed_partial"})


@dataclass(slots=True)
class EmulatorSettings:
    # The one seller account (and LWA application) the emulator knows.
    client_id: str = "amzn1.application-oa2-client.oms-emulator"
    client_secret: str = "oms-emulator-client-secret"  # noqa: S105 - the emulator's own demo credential
    refresh_token: str = "Atzr|oms-emulator-refresh-token"  # noqa: S105
    seller_id: str = "A2OMSEMULATOR"
    marketplace_id: str = "A1VC38T7YXB528"  # Amazon.co.jp
    currency: str = "JPY"
    access_token_seconds: int = 3600
    # Orders: `*Before` must be at least this long before the request [V]: 2 minutes.
    before_lag_seconds: float = 120.0
    # Usage plans; `limits_lifted` serves every call (the benchmark's "limits lifted" run).
    usage_plans: dict[str, tuple[float, int]] = field(default_factory=lambda: dict(USAGE_PLANS))
    limits_lifted: bool = False
    # Listings: a PATCH is ACCEPTED and applied this long after [V: asynchronous].
    listing_apply_seconds: float = 0.0
    # A patch or feed message must name the listing's real product type [U].
    strict_product_type: bool = True
    # Feeds: IN_QUEUE for the first third of this, IN_PROGRESS until it has passed, then DONE.
    feed_processing_seconds: float = 1.0
    presigned_url_seconds: float = 300.0  # [V] 5 minutes
    # Processing-report codes [U]: an unknown SKU, and a passing failure (fault "feed_partial").
    unknown_sku_issue_code: str = "18027"
    partial_issue_code: str = "InternalFailure"
    # The same packageReferenceId confirmed again [U]: "reject" (400 InvalidInput naming the
    # package as already confirmed) or "accept" (204, nothing recorded twice).
    duplicate_package: str = "reject"
    # Orders API 2026-01-01: roles decide PII, no RDT [V]; does this application hold them?
    pii_roles: bool = True
    # Fault timings: "timeout" holds the answer this long, "slow" delays a normal answer.
    timeout_seconds: float = 30.0
    slow_seconds: float = 0.5

    def plan(self, operation: str) -> tuple[float, int]:
        return self.usage_plans[operation]

    def updated(self, changes: dict[str, Any]) -> EmulatorSettings:
        """A copy with `changes` applied; unknown names or wrong types raise ValueError."""
        known = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}")
            current = getattr(self, name)
            if name == "usage_plans":
                if not isinstance(value, dict):
                    raise ValueError("usage_plans: an object of operation -> [rate, burst]")
                plans = dict(current)
                for op, plan in value.items():
                    rate, burst = plan
                    if op not in plans or float(rate) <= 0 or int(burst) < 1:
                        raise ValueError(f"usage_plans.{op}: unknown operation or bad plan")
                    plans[op] = (float(rate), int(burst))
                clean[name] = plans
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name}: a boolean")
                clean[name] = value
            elif isinstance(current, (int, float)):
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{name}: a non-negative number")
                clean[name] = type(current)(value)
            else:
                if not isinstance(value, str):
                    raise ValueError(f"{name}: a string")
                clean[name] = value
        if clean.get("duplicate_package", self.duplicate_package) not in {"reject", "accept"}:
            raise ValueError("duplicate_package: 'reject' or 'accept'")
        return replace(self, **clean)
