"""Use cases of transfers between locations: create, ship, receive, cancel."""

from __future__ import annotations

import uuid

from oms.inventory.domain import Transfer, validate_code
from oms.inventory.ports import InventoryStore
from oms.inventory.services._base import ServiceCore, _check_text
from oms.inventory.services.commands import CreateTransfer, ReceiveTransfer
from oms.inventory.services.results import TransferResult
from oms.shared.errors import Conflict, InvalidInput, NotFound


class TransferUseCases(ServiceCore):
    """Move stock between locations: draft, ship (in transit), receive, cancel."""

    def create_transfer(self, cmd: CreateTransfer) -> TransferResult:
        transfer = Transfer.draft(
            validate_code(cmd.source, field_name="source"),
            validate_code(cmd.destination, field_name="destination"),
            cmd.lines,
            _check_text(cmd.reference, "reference", 200),
        )
        transfer.created_at = now = self._clock()
        with self._uow() as uow:
            store = uow.inventory
            # No key: none is claimed. A blank one is refused (`_check_key`), not taken as none.
            if cmd.idempotency_key is not None:
                body = {
                    "source": transfer.source,
                    "destination": transfer.destination,
                    "lines": [[ln.sku, ln.quantity] for ln in transfer.lines],
                    "reference": cmd.reference,
                }
                key = self._check_key(cmd.idempotency_key)
                prior = self._claim(store, key, "transfer.create", body, now, cmd.caller)
                if prior is not None:
                    existing = store.transfer(int(prior["transfer_id"]))
                    if existing is None:
                        raise Conflict("the transfer for this Idempotency-Key is gone")
                    return TransferResult(existing, replayed=True)
            sku_ids, location_ids = self._resolve(
                store,
                [sku for sku, _ in cmd.lines],
                [transfer.source, transfer.destination],
                "lines",
                field_names=[("source", "source"), ("destination", "destination")],
            )
            transfer.id = store.add_transfer(transfer, location_ids, sku_ids, cmd.actor)
            if cmd.idempotency_key is not None:
                store.store_result(cmd.idempotency_key.strip(), {"transfer_id": transfer.id})
            uow.publish_changes()
            uow.commit()
        return TransferResult(transfer)

    def get_transfer(self, transfer_id: int) -> Transfer:
        with self._uow() as uow:
            transfer = uow.inventory.transfer(transfer_id)
        if transfer is None:
            raise NotFound(f"no transfer {transfer_id}", field="id")
        return transfer

    def ship_transfer(
        self,
        transfer_id: int,
        idempotency_key: str | None = None,
        actor: str | None = None,
        caller: str | None = None,
    ) -> TransferResult:
        """Source on_hand goes down and the destination's in_transit up, in one transaction."""
        now = self._clock()
        with self._uow() as uow:
            store = uow.inventory
            if idempotency_key:
                key = self._check_key(idempotency_key)
                prior = self._claim(store, key, "transfer.ship", {"id": transfer_id}, now, caller)
                if prior is not None:
                    return TransferResult(self._transfer(store, transfer_id), replayed=True)
            transfer = self._transfer(store, transfer_id, lock=True)
            requests = transfer.ship()
            transfer.shipped_at = now
            sku_ids, location_ids = self._resolve(
                store, [r.sku for r in requests], [r.location for r in requests], "lines"
            )
            self._apply(
                store,
                [(r, sku_ids[r.sku], location_ids[r.location]) for r in requests],
                key=f"transfer:{transfer_id}:ship",
                reference=f"transfer:{transfer_id}",
                actor=actor,
                now=now,
            )
            store.save_transfer(transfer, sku_ids, [], now)
            uow.publish_changes()
            uow.commit()
        return TransferResult(transfer)

    def receive_transfer(self, cmd: ReceiveTransfer) -> TransferResult:
        """Book what arrived; excess and (on close) shortfall are recorded as discrepancies."""
        now = self._clock()
        with self._uow() as uow:
            store = uow.inventory
            key = None
            if cmd.idempotency_key:
                key = self._check_key(cmd.idempotency_key)
                body = {
                    "id": cmd.transfer_id,
                    "lines": sorted([list(x) for x in cmd.lines]),
                    "close": cmd.close,
                }
                prior = self._claim(store, key, "transfer.receive", body, now, cmd.caller)
                if prior is not None:
                    return TransferResult(self._transfer(store, cmd.transfer_id), replayed=True)
            transfer = self._transfer(store, cmd.transfer_id, lock=True)
            received = [
                (validate_code(sku, field_name=f"lines[{i}].sku"), q)
                for i, (sku, q) in enumerate(cmd.lines)
            ]
            refs = store.sku_refs([sku for sku, _ in received])
            for i, (sku, _) in enumerate(received):
                if sku not in refs:
                    raise InvalidInput(f"SKU {sku!r} does not exist", field=f"lines[{i}].sku")
            effect = transfer.receive(received, close=cmd.close)
            if transfer.status.value == "received":
                transfer.closed_at = now
            all_skus = sorted({ln.sku for ln in transfer.lines})
            sku_ids, location_ids = self._resolve(store, all_skus, [transfer.destination], "lines")
            self._apply(
                store,
                [(r, sku_ids[r.sku], location_ids[r.location]) for r in effect.movements],
                key=key or f"transfer:{cmd.transfer_id}:receipt:{uuid.uuid4()}",
                reference=f"transfer:{cmd.transfer_id}",
                actor=cmd.actor,
                now=now,
            )
            store.save_transfer(transfer, sku_ids, effect.discrepancies, now)
            if key:
                store.store_result(key, {"transfer_id": cmd.transfer_id})
            uow.publish_changes()
            uow.commit()
        return TransferResult(transfer)

    def cancel_transfer(self, transfer_id: int) -> Transfer:
        with self._uow() as uow:
            store = uow.inventory
            transfer = self._transfer(store, transfer_id, lock=True)
            transfer.cancel()
            transfer.closed_at = self._clock()
            sku_ids = {
                c: r[0] for c, r in store.sku_refs([ln.sku for ln in transfer.lines]).items()
            }
            store.save_transfer(transfer, sku_ids, [], transfer.closed_at)
            uow.publish_changes()
            uow.commit()
        return transfer

    @staticmethod
    def _transfer(store: InventoryStore, transfer_id: int, *, lock: bool = False) -> Transfer:
        transfer = store.transfer(transfer_id, lock=lock)
        if transfer is None:
            raise NotFound(f"no transfer {transfer_id}", field="id")
        return transfer
