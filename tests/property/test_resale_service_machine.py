"""A resale unit driven through the real services on both databases by hypothesis: any
sequence of person actions, orders on two channels, cancellations and shipments. Throughout:
the unit only moves along its diagram, a terminal unit never changes, its stock is sellable
(out of quarantine) exactly while it is on sale, a channel shows 1 only while it is listed and
not held by an order, no channel ever oversells it, and the ledger equals the projection."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from oms.orders.domain.order import Order
from oms.resale.domain import ON_SALE, TERMINAL, TRANSITIONS, ResaleStatus
from oms.resale.services import SetPricing
from oms.shared.errors import DomainError
from tests.conftest import clean
from tests.examples import examples
from tests.order_builders import DC, an_order, open_shipments
from tests.resale_builders import AMAZON, WEB, ResaleShop

SEEN: set[ResaleStatus] = set()  # what the runs reached, checked at the end
STARTED: list[bool] = []  # runs started in this test
HELD_BACK = frozenset(
    {ResaleStatus.INTAKE, ResaleStatus.PREPARING, ResaleStatus.READY, ResaleStatus.WITHDRAWN}
)


class ResaleServiceMachine(RuleBasedStateMachine):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        clean(engine)
        self.shop = ResaleShop(engine)
        self.unit = self.shop.returned_unit("B")
        self.code = self.unit.code
        self.orders: list[Order] = []
        self.seen = [self.unit.status]

    @property
    def status(self) -> ResaleStatus:
        return self.shop.resale.get_unit(self.code).unit.status

    def attempt(self, run: object) -> None:
        with contextlib.suppress(DomainError):
            run()  # type: ignore[operator]
        self.seen.append(self.status)

    @rule()
    def prepare(self) -> None:
        self.attempt(lambda: self.shop.resale.prepare(self.code, "cs"))

    @rule()
    def ready(self) -> None:
        self.attempt(lambda: self.shop.resale.ready(self.code, "cs"))

    @rule(hours=st.integers(-2, 48))
    def publish(self, hours: int) -> None:
        public = self.shop.clock() + timedelta(hours=hours)
        self.attempt(lambda: self.shop.resale.publish(self.code, "cs", public))

    @initialize(listed=st.booleans(), ordered=st.booleans())
    def start(self, listed: bool, ordered: bool) -> None:
        """Half the runs start from a listed unit, so that orders meet it often; some of those
        with an order holding it. The first run of a test always does both, so that the few
        examples of a CI run cover the way to `reserved` every time, not by chance."""
        first = not STARTED
        STARTED.append(True)
        if listed or first:
            self.prepare()
            self.ready()
            self.publish(-1)
            if ordered or first:
                self.order(WEB)
                self.follow_the_stock()

    @rule()
    def withdraw(self) -> None:
        self.attempt(lambda: self.shop.resale.withdraw(self.code, "cs", "stain"))

    @rule()
    def dispose(self) -> None:
        self.attempt(lambda: self.shop.resale.dispose(self.code, "cs", "recycled"))

    @rule(price=st.integers(1, 5000))
    def reprice(self, price: int) -> None:
        self.attempt(
            lambda: self.shop.resale.set_pricing(self.code, SetPricing("x", price=price), "cs")
        )

    @rule(channel=st.sampled_from([WEB, AMAZON]))
    def order(self, channel: str) -> None:
        try:
            placed = self.shop.shop.orders.place_order(an_order((self.code, 1), channel=channel))
        except DomainError:
            return
        self.orders.append(placed.order)

    @rule(data=st.data())
    def cancel_or_ship(self, data: st.DataObject) -> None:
        open_orders = [o for o in self.orders if open_shipments(self.shop.shop.order(o.id))]
        if not open_orders:
            return
        order = data.draw(st.sampled_from(open_orders))
        if data.draw(st.booleans()):
            self.shop.shop.orders.cancel(order.id or 0)
        else:
            [parcel] = open_shipments(self.shop.shop.order(order.id))
            self.shop.shop.ship(parcel.id or 0)

    @rule(hours=st.integers(1, 72))
    def time_passes(self, hours: int) -> None:
        self.shop.clock.advance(hours=hours)
        self.shop.resale.run_due()

    @rule()
    def follow_the_stock(self) -> None:
        self.shop.resale.observe_stock([self.code])
        self.seen.append(self.status)

    @invariant()
    def the_unit_only_moves_along_its_diagram(self) -> None:
        reachable = {after for (_, _), after in TRANSITIONS.items()}
        for before, after in zip(self.seen, self.seen[1:], strict=False):
            if before is after:
                continue
            assert before not in TERMINAL, f"{before} -> {after}"
            assert after in reachable
            # observe_stock may take listed -> reserved -> sold in one look
            assert (before, after) in {(b, a) for (b, _), a in TRANSITIONS.items()} or (
                before is ResaleStatus.LISTED and after is ResaleStatus.SOLD
            ), f"{before} -> {after}"

    @invariant()
    def stock_is_sellable_exactly_while_on_sale_and_never_oversold(self) -> None:
        self.shop.resale.observe_stock([self.code])
        status = self.status
        self.seen.append(status)
        level = self.shop.shop.level(self.code, DC)
        assert 0 <= level.reserved + level.quarantined <= level.on_hand <= 1
        if status in HELD_BACK:
            assert (level.on_hand, level.quarantined) == (1, 1)
        if status in ON_SALE:
            assert (level.on_hand, level.quarantined) == (1, 0)
        if status in (ResaleStatus.SOLD, ResaleStatus.DISPOSED):
            assert level.on_hand == 0
        web = self.shop.number(WEB, self.code)
        amazon = self.shop.number(AMAZON, self.code)
        assert web == (1 if status is ResaleStatus.LISTED else 0)
        assert amazon <= web
        assert self.shop.published(WEB, self.code) == web
        assert self.shop.published(AMAZON, self.code) == amazon
        standing = [
            o for o in self.orders if self.shop.shop.order(o.id).status.value != "cancelled"
        ]
        assert len(standing) <= 1  # one unit: never two orders holding or shipping it

    def teardown(self) -> None:
        assert self.shop.services.inventory.verify().clean
        SEEN.update(self.seen)


def test_a_resale_unit_through_the_services_keeps_its_stock_and_channels_true(
    engine: Engine,
) -> None:
    STARTED.clear()

    class OnThisEngine(ResaleServiceMachine):
        def __init__(self) -> None:
            super().__init__(engine)

    run_state_machine_as_test(
        OnThisEngine,
        # No shrinking: every step runs on a real database (see test_order_properties).
        settings=settings(
            max_examples=examples(8),
            stateful_step_count=20,
            deadline=None,
            phases=(Phase.explicit, Phase.reuse, Phase.generate),
        ),
    )
    # The runs went somewhere: past listing, into an order's hands.
    assert {ResaleStatus.LISTED, ResaleStatus.RESERVED} <= SEEN, SEEN
