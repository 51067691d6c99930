"""Anonymisation, for any addresses and any policy, on both databases: the stored result is
the pure rule's (`anonymised_address`), what is kept is untouched, and a second run changes
nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from oms.privacy.domain import ANONYMISABLE, PLACEHOLDER, anonymised_address
from oms.shared.clock import utcnow
from oms.shared.personal_data import PersonalField
from tests.examples import examples
from tests.privacy_builders import (
    AMAZON,
    amazon_shop,
    an_amazon_order,
    cancelled,
    services,
    shipped,
    stored_order,
)

_text = st.text(
    alphabet=st.sampled_from("山田花子太郎渋谷区神南ハイツabcXYZ0123456789 -"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() != "")

addresses = st.fixed_dictionaries(
    {
        "name": _text,
        "postal_code": st.from_regex(r"[0-9]{3}-[0-9]{4}", fullmatch=True),
        "prefecture": st.integers(1, 47).map(lambda n: f"{n:02d}"),
        "city": _text,
        "address1": _text,
    },
    optional={
        "address2": _text,
        "phone": st.from_regex(r"0[0-9]{1,3}-[0-9]{2,4}-[0-9]{4}", fullmatch=True),
    },
)
orders = st.lists(st.tuples(addresses, st.none() | _text, st.booleans()), min_size=1, max_size=3)
policies = st.sets(st.sampled_from(ANONYMISABLE), min_size=1)


def test_anonymising_is_the_pure_rule_keeps_what_it_keeps_and_runs_once(engine: Engine) -> None:
    shop = amazon_shop(engine, units=200)
    svc = services(engine)
    far = utcnow() + timedelta(days=3650)

    @given(placed=orders, fields=policies)
    @settings(
        max_examples=examples(10),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
    )
    def check(placed: list[tuple[dict[str, Any], str | None, bool]], fields: set[Any]) -> None:
        svc.pii_policies.set_policy(
            AMAZON,
            enabled=True,
            fields=[f.value for f in fields],
            days_after_delivery=30,
            days_after_cancellation=30,
            actor="test",
        )
        ids = []
        for address, note, ship in placed:
            cmd = an_amazon_order(ship_to=address, gift_note=note)
            order = shipped(shop, cmd)[0] if ship else cancelled(shop, cmd)
            ids.append(order.id or 0)
        before = {i: stored_order(engine, i) for i in ids}

        first = svc.anonymisation.anonymise(now=far, channel=AMAZON)

        assert first.anonymised == len(ids)
        after = {i: stored_order(engine, i) for i in ids}
        for i in ids:
            old, new = before[i], after[i]
            assert new["ship_to"] == anonymised_address(old["ship_to"], fields)
            for kept in ("postal_code", "prefecture"):
                assert new["ship_to"][kept] == old["ship_to"][kept]
            note_gone = old["gift_note"] is not None and PersonalField.NOTES in fields
            assert new["gift_note"] == (PLACEHOLDER if note_gone else old["gift_note"])
            unchanged = {k: v for k, v in old.items() if k not in ("ship_to", "gift_note")}
            assert {k: new[k] for k in unchanged} == unchanged
            # The orders context still loads it (returns and repairs read it so).
            assert shop.order(i).ship_to.postal_code == old["ship_to"]["postal_code"]

        second = svc.anonymisation.anonymise(now=far + timedelta(days=1), channel=AMAZON)

        assert second.anonymised == 0
        assert {i: stored_order(engine, i) for i in ids} == after

    check()
