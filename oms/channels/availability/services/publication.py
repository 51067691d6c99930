"""Computing and writing every channel's published numbers: the publisher's recomputation.

A transaction that changes stock, the catalogue or a rule records which SKUs it touched in the
publication queue (`SqlUnitOfWork.publish_changes`); the publisher
(`oms.channels.availability.services.publisher`) takes a batch of them and calls
`AvailabilityPublisher.publish`, which recomputes those SKUs and every bundle containing them
for every channel, compares with what each channel was last told (`channel_availability`),
and for each (channel, SKU) whose number really changed writes the new number and one
`AvailabilityChanged {channel, sku, available, version}` outbox row: once per (channel, SKU)
per batch, whatever the number of movements.

Concurrency: `publish` locks what it recomputes (advisory locks per SKU on PostgreSQL, bundles
included; every SKU for a recompute of all) and reads the stock, the rules and the numbers
told after the locks. Two publishers of the same SKU therefore run one after the other, and
the second reads everything committed before its lock (READ COMMITTED: each statement sees the
latest commits): a queued change is visible only once its writer committed, so whichever
publisher takes it reads that writer's stock. Writers never wait for a publisher.

Rules are cached per process under a token that every rule or catalogue change replaces in its
own transaction, read after the locks; a stale cache is reloaded, never used.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from oms.channels.availability.domain.fastpath import compute_many
from oms.channels.availability.domain.model import (
    ChannelPolicy,
    LocationStock,
    Pool,
    resolve_safety_stock,
    ring_fenced_units,
)
from oms.channels.availability.domain.rules import VELOCITY_WINDOW, Channel
from oms.channels.availability.ports import ChannelStore, PublishedNumber
from oms.channels.availability.services.inputs import (
    ChannelRuleIndex,
    catalogue_inputs,
    category_of,
    rule_groups,
    text_attributes,
    with_velocity,
)
from oms.inventory.domain import SINGLE_UNIT, SkuKind
from oms.inventory.ports import InventoryStore, SkuFacts
from oms.inventory.services.bulk import CatalogueSnapshot
from oms.shared.events import DomainEvent, EventName

AVAILABILITY_CHANGED = EventName.AVAILABILITY_CHANGED
DEFAULT_VELOCITY_WINDOW = VELOCITY_WINDOW
MAX_PAGE = 500


@dataclass(slots=True)
class PendingPublication:
    """What one transaction touched, gathered until it records it (`publish_changes`)."""

    sku_ids: set[int] = field(default_factory=set)
    sku_codes: set[str] = field(default_factory=set)
    everything: bool = False
    rules_changed: bool = False

    def __bool__(self) -> bool:
        return bool(self.sku_ids or self.sku_codes or self.everything or self.rules_changed)


@dataclass(slots=True)
class _Rules:
    """Every channel's rules and the catalogue's shape, as of one token."""

    token: str | None
    channels: list[Channel]
    active: list[ChannelRuleIndex]
    default_safety: dict[str, int]
    overrides: dict[tuple[str, str], int]
    active_locations: set[str]
    # bundle id -> simple component id -> units per bundle (nested bundles flattened)
    requirements: dict[int, dict[int, int]]
    # SKU id -> ids of every bundle containing it, directly or through another bundle
    containing: dict[int, set[int]]
    feeding: set[str]
    facts: dict[int, SkuFacts] = field(default_factory=dict)


class AvailabilityPublisher:
    """One per process: computes and writes the numbers; caches rules between transactions."""

    def __init__(self, velocity_window: timedelta = DEFAULT_VELOCITY_WINDOW) -> None:
        if velocity_window <= timedelta(0):
            raise ValueError("the velocity window must be positive")
        self._window = velocity_window
        self._rules: _Rules | None = None
        self._lock = threading.Lock()
        # Rung by a writer of this process once its queued changes are committed: the
        # in-process publisher wakes at once instead of at its next poll.
        self.doorbell = threading.Event()
        # One drain at a time in a process: a drain that returns has published what was
        # queued before it started, also what the loop had taken (it waits for the loop).
        self.draining = threading.Lock()

    # ------------------------------------------------------------------ publish

    def publish(
        self,
        channels: ChannelStore,
        inventory: InventoryStore,
        sku_ids: Iterable[int] | None,
        now: datetime,
    ) -> int:
        """Recompute these SKUs (None: every SKU) and the bundles containing them, under their
        locks, and write the changed numbers with their events; the events written."""
        if sku_ids is None:
            channels.lock_for_publication(None)
            rules = self._current_rules(channels, inventory)
            targets = set(inventory.all_sku_ids())
        else:
            touched = set(sku_ids)
            # Which bundles to lock: from the cached rules, as they were (no read); the
            # rules are read after the locks, and a bundle they add is locked then.
            rules = self._rules or self._current_rules(channels, inventory)
            targets = _with_bundles(rules, touched)
            channels.lock_for_publication(targets)
            # The rules after the locks: a catalogue change may have put these SKUs in a
            # bundle meanwhile (its own queued change would recompute it too, but the number
            # written now must not be computed from a stale catalogue).
            rules = self._current_rules(channels, inventory)
            more = _with_bundles(rules, touched) - targets
            if more:
                channels.lock_for_publication(more)
                targets |= more
        if not rules.channels or not targets:
            return 0
        missing = [i for i in targets if i not in rules.facts]
        if missing:
            rules.facts.update(inventory.sku_facts(missing))
        # A queued id that is no SKU (written by hand): nothing to publish for it.
        targets = {i for i in targets if i in rules.facts}
        return self._publish(channels, inventory, rules, targets, now)

    def _publish(
        self,
        channels: ChannelStore,
        inventory: InventoryStore,
        rules: _Rules,
        targets: set[int],
        now: datetime,
    ) -> int:
        written = 0
        ordered = sorted(targets)
        for start in range(0, len(ordered), 2000):
            chunk = ordered[start : start + 2000]
            numbers = self._compute(channels, inventory, rules, chunk, now)
            published = channels.published_numbers(chunk)
            changes: list[tuple[Channel, SkuFacts, int, int]] = []
            for sku_id in chunk:
                facts = rules.facts[sku_id]
                for channel in rules.channels:
                    if channel.id is None:
                        continue
                    number = numbers.get((channel.code, sku_id), 0)
                    before = published.get((channel.id, sku_id))
                    if before is None and number == 0:
                        continue  # never told, and nothing to tell: 0 is the default
                    if before is not None and before.available == number:
                        continue
                    version = 1 if before is None else before.version + 1
                    changes.append((channel, facts, number, version))
            if not changes:
                continue
            channels.write_published(
                [
                    PublishedNumber(c.id or 0, f.id, number, version)
                    for c, f, number, version in changes
                ],
                [
                    DomainEvent(
                        AVAILABILITY_CHANGED,
                        f"{c.code}:{f.code}",
                        {
                            "channel": c.code,
                            "sku": f.code,
                            "available": number,
                            "version": version,
                            "at": now.isoformat(),
                        },
                    )
                    for c, f, number, version in changes
                ],
                now,
            )
            written += len(changes)
        return written

    # ------------------------------------------------------------------ numbers

    def _compute(
        self,
        channels: ChannelStore,
        inventory: InventoryStore,
        rules: _Rules,
        sku_ids: Sequence[int],
        now: datetime,
    ) -> dict[tuple[str, int], int]:
        """channel code, SKU id -> the number it is told (inactive channels: absent, so 0).

        The fast path of the full recompute (`compute_many` over the SKUs grouped by their
        policies, as `ChannelAvailabilityService.recompute_all` runs it), given a snapshot of
        just these SKUs, their bundles' components, and the pools as they hold now.
        """
        needed = set(sku_ids)
        for sku_id in sku_ids:
            needed.update(rules.requirements.get(sku_id, {}))
        missing = [i for i in needed if i not in rules.facts]
        if missing:
            rules.facts.update(inventory.sku_facts(missing))
        if not rules.active:
            return {}
        facts = rules.facts
        simple = [i for i in needed if facts[i].kind is SkuKind.SIMPLE]
        available: dict[str, dict[str, int]] = {}
        for sku_id, at in inventory.available_by_sku(simple).items():
            code = facts[sku_id].code
            for location, units in at.items():
                available.setdefault(location, {})[code] = units
        bundles = [i for i in sku_ids if facts[i].kind is SkuKind.BUNDLE]
        snapshot = CatalogueSnapshot(
            skus=[facts[i].code for i in sku_ids],
            attributes={facts[i].code: facts[i].attributes for i in needed if facts[i].attributes},
            bundles={facts[i].code: facts[i].ship_together for i in bundles},
            requirements={
                facts[i].code: {facts[c].code: q for c, q in rules.requirements[i].items()}
                for i in bundles
            },
            available=available,
            active_locations=rules.active_locations,
        )
        drawn = _drawn(channels, rules, [facts[i].code for i in simple])
        pools = {
            facts[i].code: held
            for i in simple
            if (held := _pools_held(rules, drawn, facts[i].code))
        }
        inputs = replace(
            catalogue_inputs(snapshot, rules.active, rules.default_safety, rules.overrides),
            pools=pools,
        )
        velocity = self._velocity(inventory, rules, sku_ids, now)
        id_of = {facts[i].code: i for i in sku_ids}
        numbers: dict[tuple[str, int], int] = {}
        for policies, codes in rule_groups(snapshot, rules.active, velocity):
            for channel, found in compute_many(codes, policies, inputs).items():
                for code, units in found.items():
                    numbers[(channel, id_of[code])] = units
        return numbers

    # ------------------------------------------------------------------ where stock is taken

    def ring_fenced(
        self,
        channels: ChannelStore,
        inventory: InventoryStore,
        skus: Iterable[str],
        channel: str | None,
    ) -> dict[str, dict[str, int]]:
        """SKU -> location -> units `channel` may not take there, because other channels' pools
        hold them: SKUs without such units are left out. The same rules, stock and allocation
        (`ring_fenced_units`, steps 1-4 of the pipeline) as the numbers published, read now:
        called under the stock row locks of a reservation, it is what the reservation checks.
        """
        rules = self._current_rules(channels, inventory)
        pooled = {code for index in rules.active for code in index.pools}
        wanted = [code for code in skus if code in pooled]
        if not wanted:
            return {}
        ids = inventory.sku_ids_by_code(wanted)
        missing = [i for i in ids.values() if i not in rules.facts]
        if missing:
            rules.facts.update(inventory.sku_facts(missing))
        simple = [i for i in ids.values() if rules.facts[i].kind is SkuKind.SIMPLE]
        stock = inventory.available_by_sku(simple)
        drawn = _drawn(channels, rules, [rules.facts[i].code for i in simple])
        fenced: dict[str, dict[str, int]] = {}
        for sku_id in simple:
            facts = rules.facts[sku_id]
            units = ring_fenced_units(
                facts.code,
                text_attributes(facts.attributes),
                [LocationStock(loc, n) for loc, n in stock.get(sku_id, {}).items()],
                resolve_safety_stock(
                    facts.code, rules.feeding, rules.default_safety, rules.overrides
                ),
                # Steps 1-4 do not look at velocity: buffers come after the pools.
                self._policies(rules, facts, {}),
                _pools_held(rules, drawn, facts.code),
                channel,
            )
            if units:
                fenced[facts.code] = units
        return fenced

    def _policies(
        self, rules: _Rules, facts: SkuFacts, velocity: Mapping[tuple[str, str], float]
    ) -> list[ChannelPolicy]:
        category = category_of(facts.attributes)
        return with_velocity(
            [
                index.policy(
                    facts.code,
                    category,
                    rules.active_locations,
                    single_unit=facts.attributes.get(SINGLE_UNIT) is True,
                )
                for index in rules.active
            ],
            facts.code,
            velocity,
        )

    def _velocity(
        self, inventory: InventoryStore, rules: _Rules, sku_ids: Iterable[int], now: datetime
    ) -> dict[tuple[str, str], float]:
        """Units per minute reserved for each auto-buffer channel over the trailing window,
        by (channel, SKU code) as `with_velocity` takes them."""
        auto = [index.channel.code for index in rules.active if index.channel.auto_buffer]
        if not auto:
            return {}
        sold = inventory.sold_since(auto, sku_ids, now - self._window)
        minutes = self._window.total_seconds() / 60
        return {
            (channel, rules.facts[sku_id].code): units / minutes
            for (channel, sku_id), units in sold.items()
        }

    @property
    def velocity_window(self) -> timedelta:
        return self._window

    # ------------------------------------------------------------------ rules cache

    def _current_rules(self, channels: ChannelStore, inventory: InventoryStore) -> _Rules:
        token = channels.publication_token()
        if token is None:
            # A database that never had one (new, or emptied): mint it, so the rules read now
            # can be cached rather than read again by every transaction.
            token = uuid.uuid4().hex
            channels.set_publication_token(token)
        cached = self._rules
        if cached is not None and token is not None and cached.token == token:
            return cached
        rules = _load_rules(channels, inventory, token)
        with self._lock:
            self._rules = rules
        return rules


def _load_rules(channels: ChannelStore, inventory: InventoryStore, token: str | None) -> _Rules:
    all_channels: list[Channel] = []
    after_id = 0
    while page := channels.list_channels(after_id, MAX_PAGE):
        all_channels += page
        after_id = page[-1].id or 0
    active = [
        ChannelRuleIndex.read(channels, c, c.id, held=False)
        for c in all_channels
        if c.active and c.id is not None
    ]
    active_locations = inventory.active_location_codes()
    feeding = {loc for c in active for loc in c.channel.locations if loc in active_locations}
    direct: dict[int, dict[int, int]] = {}
    for bundle_id, component_id, quantity in inventory.bundle_edges():
        direct.setdefault(bundle_id, {})[component_id] = quantity
    requirements = {bundle_id: _flatten(bundle_id, direct) for bundle_id in direct}
    containing: dict[int, set[int]] = {}
    for bundle_id in direct:
        for part in _every_part(bundle_id, direct):
            containing.setdefault(part, set()).add(bundle_id)
    return _Rules(
        token=token,
        channels=all_channels,
        active=active,
        default_safety={d.location: d.quantity for d in channels.default_safety_stocks()},
        overrides=channels.safety_stock_overrides(),
        active_locations=active_locations,
        requirements=requirements,
        containing=containing,
        feeding=feeding,
    )


def _drawn(
    channels: ChannelStore, rules: _Rules, skus: Sequence[str]
) -> dict[tuple[int, str], int]:
    """What the pools of these SKUs gave their own channels, read now: draws change with every
    such reservation, so they are never part of the cached rules."""
    pooled = [code for code in skus if any(code in index.pools for index in rules.active)]
    return channels.drawn_from_pools(pooled) if pooled else {}


def _pools_held(rules: _Rules, drawn: Mapping[tuple[int, str], int], sku: str) -> list[Pool]:
    """Each active channel's pool of `sku` as it holds now: its quantity less its draws."""
    return [
        Pool(
            index.channel.code,
            max(0, index.pools[sku] - drawn.get((index.channel.id or 0, sku), 0)),
        )
        for index in rules.active
        if sku in index.pools
    ]


def _with_bundles(rules: _Rules, sku_ids: set[int]) -> set[int]:
    """These SKUs and every bundle containing one of them."""
    targets = set(sku_ids)
    for sku_id in sku_ids:
        targets |= rules.containing.get(sku_id, set())
    return targets


def _flatten(bundle_id: int, direct: Mapping[int, Mapping[int, int]]) -> dict[int, int]:
    """The simple SKUs one bundle needs, nested bundles multiplied out."""
    needs: dict[int, int] = {}
    for part, quantity in direct[bundle_id].items():
        if part in direct:
            for inner, units in _flatten(part, direct).items():
                needs[inner] = needs.get(inner, 0) + units * quantity
        else:
            needs[part] = needs.get(part, 0) + quantity
    return needs


def _every_part(bundle_id: int, direct: Mapping[int, Mapping[int, int]]) -> set[int]:
    """Every SKU inside a bundle, bundles included, at any depth."""
    parts: set[int] = set()
    for part in direct[bundle_id]:
        parts.add(part)
        if part in direct:
            parts |= _every_part(part, direct)
    return parts
