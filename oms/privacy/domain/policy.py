"""A channel's PII policy: which personal fields are anonymised, and when.

What oms knows of "delivery": no carrier tells it when a parcel arrived, and the latest
delivery date a marketplace promises is not kept on the order (`promised_by` holds Amazon's
LatestShipDate, a ship-by date). What it does know is when each parcel left (`shipped_at`),
which is never after the delivery. So the deadline of a shipped order counts from the last
parcel's `shipped_at`: at worst a few transit days earlier than "30 days after delivery",
never later than the marketplace allows. A cancelled order counts from its order date, as the
Japanese tools do for Amazon (reference §1.7). An order with units still to send is never due:
its address is still needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from oms.shared.errors import InvalidInput
from oms.shared.personal_data import PersonalField

# What a policy may anonymise. Postal code and prefecture are kept by rule (the issue: keep
# ids, SKUs, amounts, prefecture and postal code).
ANONYMISABLE = (
    PersonalField.NAME,
    PersonalField.KANA,
    PersonalField.PHONE,
    PersonalField.EMAIL,
    PersonalField.STREET,
    PersonalField.CITY,
    PersonalField.NOTES,
)
# City is kept by default: with the postal code kept it narrows nothing further.
DEFAULT_FIELDS = frozenset(ANONYMISABLE) - {PersonalField.CITY}
MAX_DAYS = 3650


class OrderEnd(StrEnum):
    """How an order stands for the deadline: only finished orders can be due."""

    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    OPEN = "open"


@dataclass(frozen=True, slots=True)
class PiiPolicy:
    channel: str
    enabled: bool
    fields: frozenset[PersonalField]
    days_after_delivery: int
    days_after_cancellation: int
    stored: bool = False  # False: the default of the channel's kind, nothing stored

    @classmethod
    def of(
        cls,
        channel: str,
        *,
        enabled: bool,
        fields: Iterable[str],
        days_after_delivery: int,
        days_after_cancellation: int,
    ) -> PiiPolicy:
        """A policy from a person's input: each value checked, the field named when wrong."""
        chosen: set[PersonalField] = set()
        for i, raw in enumerate(fields):
            try:
                field = PersonalField(raw)
            except ValueError:
                names = ", ".join(f.value for f in ANONYMISABLE)
                raise InvalidInput(
                    f"unknown personal field {raw!r}; one of {names}", field=f"fields[{i}]"
                ) from None
            if field not in ANONYMISABLE:
                raise InvalidInput(
                    f"{field.value} is always kept (sourcing and tax need it)",
                    field=f"fields[{i}]",
                )
            chosen.add(field)
        if enabled and not chosen:
            raise InvalidInput("an enabled policy anonymises at least one field", field="fields")
        for name, days in (
            ("days_after_delivery", days_after_delivery),
            ("days_after_cancellation", days_after_cancellation),
        ):
            if not 0 <= days <= MAX_DAYS:
                raise InvalidInput(f"{name} must be 0 to {MAX_DAYS}", field=name)
        return cls(
            channel,
            enabled,
            frozenset(chosen),
            days_after_delivery,
            days_after_cancellation,
            stored=True,
        )

    def deadline(
        self, end: OrderEnd, ordered_at: datetime, last_shipped_at: datetime | None
    ) -> datetime | None:
        """When the order's personal data is due to be anonymised; None: not (yet) due ever.

        The job compares the same rule in SQL (`cutoffs`): an order is due when its deadline
        is at or before now."""
        if not self.enabled:
            return None
        if end is OrderEnd.CANCELLED:
            return ordered_at + timedelta(days=self.days_after_cancellation)
        if end is OrderEnd.SHIPPED and last_shipped_at is not None:
            return last_shipped_at + timedelta(days=self.days_after_delivery)
        return None

    def cutoffs(self, now: datetime) -> tuple[datetime, datetime]:
        """(shipped before, ordered before): a shipped order whose last parcel left at or
        before the first, a cancelled one ordered at or before the second, is due."""
        return (
            now - timedelta(days=self.days_after_delivery),
            now - timedelta(days=self.days_after_cancellation),
        )


def default_policy(channel: str, kind: str | None) -> PiiPolicy:
    """The policy of a channel with none stored.

    Amazon: its Data Protection Policy allows keeping buyers' PII at most 30 days after
    delivery; cancelled orders from the order date (30 days too). Rakuten: no deadline was
    found in its published terms or in the contracts we hold (reference §1.7, §6), and the
    buyer's data comes to the shop under the shop's own privacy notice: no automatic
    anonymisation until the brand sets one. The brand's own storefront: the brand is the
    controller and its privacy notice decides; APPI asks for deletion when the data is no
    longer needed, which no default can know: off until configured.
    """
    if kind == "amazon":
        return PiiPolicy(channel, True, DEFAULT_FIELDS, 30, 30)
    return PiiPolicy(channel, False, DEFAULT_FIELDS, 30, 30)
