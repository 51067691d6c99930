"""Idempotent ingest, as a property: whatever the interleaving of channel orders, cancellations,
pulls, forgotten cursors (a crash before the cursor was saved) and webhook-like re-deliveries,
oms holds exactly one order per channel order, cancelled exactly when the channel cancelled it,
and never oversells."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from oms.bootstrap import Services
from oms.channels.emulators.storefront.app import create_app
from oms.orders.domain.order import OrderStatus
from oms.shared.clock import utcnow
from tests.builders import receive
from tests.conftest import clean
from tests.contract.servers import serving
from tests.contract.test_storefront_gateway import StorefrontControl, connection_to
from tests.examples import examples
from tests.order_builders import CHANNEL, DC, TEE, Shop
from tests.sync.support import connect, list_on, services_for

Step = tuple[str, int]
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(1, 3)),
        st.tuples(st.just("cancel"), st.integers(0, 9)),
        st.tuples(st.just("pull"), st.just(0)),
        st.tuples(st.just("forget_cursor"), st.just(0)),
        st.tuples(st.just("redeliver"), st.integers(0, 9)),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with serving(create_app()) as base_url:
        yield base_url


@given(steps=STEPS)
@settings(
    max_examples=examples(8),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_channel_order_is_one_order_whatever_the_replays(
    engine: Engine, emulator_url: str, steps: list[Step]
) -> None:
    clean(engine)
    control = StorefrontControl(emulator_url)
    control.reset()
    Shop(engine).build()
    services: Services = services_for(engine)
    try:
        connect(services, CHANNEL, connection_to(emulator_url))
        tee = control.listing(TEE)
        list_on(services, CHANNEL, tee)
        receive(services.inventory, TEE, DC, 5)
        placed: list[str] = []
        cancelled: set[str] = set()
        for action, value in steps:
            if action == "order":
                placed.append(control.seed_order([(tee, value, 3000)]))
            elif action == "cancel" and placed:
                external_id = placed[value % len(placed)]
                control.cancel_order(external_id)
                cancelled.add(external_id)
            elif action == "pull":
                services.sync.pull.pull(CHANNEL)
            elif action == "forget_cursor":
                with services.uow() as uow:
                    state = uow.sync.sync_state(CHANNEL, lock=True)
                    state.order_cursor = None
                    uow.sync.save_sync_state(state, utcnow())
                    uow.commit()
            elif action == "redeliver" and placed:
                # The same order handed over again, as a webhook re-delivery would.
                gateway = services.gateways.gateway(CHANNEL)
                assert gateway is not None
                pulled = gateway.pull_orders(None, utcnow())
                for remote in pulled.orders:
                    if remote.external_id == placed[value % len(placed)]:
                        services.sync.pull.take(CHANNEL, remote)
        services.sync.pull.pull(CHANNEL)

        orders = services.orders.list_orders(channel=CHANNEL, limit=200).items
        by_id = {o.external_id: o for o in orders}
        assert len(by_id) == len(orders)  # one order per channel order
        assert set(by_id) <= set(placed)
        for external_id in placed:
            if external_id in cancelled:
                # Taken and then cancelled, or never taken: either way nothing is open.
                found = by_id.get(external_id)
                assert found is None or found.status is OrderStatus.CANCELLED
            else:
                assert external_id in by_id
                assert by_id[external_id].status is not OrderStatus.CANCELLED
        level = Shop(engine).level(TEE, DC)
        assert 0 <= level.reserved <= level.on_hand
        assert services.inventory.verify().clean
    finally:
        services.gateways.close()
        control.http.close()
