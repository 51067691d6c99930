"""Admission (oms.shared.admission) and first-come-first-served admission of reservations."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oms.inventory.domain import ReservationLine, admit_reservations
from oms.shared.admission import Admission, AdmissionTimeout


def test_callers_waiting_together_are_taken_in_one_batch_in_arrival_order() -> None:
    batches: list[list[int]] = []
    first_running = threading.Event()
    release_first = threading.Event()

    def run(asks: Sequence[int]) -> list[int]:
        batches.append(list(asks))
        if len(batches) == 1:
            first_running.set()
            release_first.wait(5)
        return [a * 10 for a in asks]

    admission: Admission[int, int] = Admission(run)
    results: dict[int, int] = {}

    def call(n: int) -> None:
        results[n] = admission.submit(n)

    leader = threading.Thread(target=call, args=(0,))
    leader.start()
    assert first_running.wait(5)
    others = []
    for n in range(1, 6):  # they queue, in this order, while the first batch runs
        t = threading.Thread(target=call, args=(n,))
        t.start()
        others.append(t)
        deadline = time.monotonic() + 5
        while len(admission._queue) < n and time.monotonic() < deadline:
            time.sleep(0.001)
    release_first.set()
    for t in [leader, *others]:
        t.join(5)
    assert batches == [[0], [1, 2, 3, 4, 5]]
    assert results == {n: n * 10 for n in range(6)}


def test_one_ask_failing_fails_only_that_ask_and_a_failing_batch_fails_all_of_it() -> None:
    def run(asks: Sequence[int]) -> list[int | BaseException]:
        if 99 in asks:
            raise RuntimeError("the batch broke")
        return [ValueError(f"bad {a}") if a < 0 else a for a in asks]

    admission: Admission[int, int] = Admission(run)
    assert admission.submit(3) == 3
    with pytest.raises(ValueError, match="bad -1"):
        admission.submit(-1)
    with pytest.raises(RuntimeError, match="the batch broke"):
        admission.submit(99)
    assert admission.submit(4) == 4  # the admission is not left busy by a failed batch


def test_two_asks_with_the_same_key_are_never_in_one_batch() -> None:
    batches: list[list[str]] = []
    gate = threading.Event()

    def run(asks: Sequence[str]) -> list[str]:
        batches.append(list(asks))
        if len(batches) == 1:
            gate.wait(5)
        return list(asks)

    admission: Admission[str, str] = Admission(run)
    threads = [threading.Thread(target=admission.submit, args=("lead", "lead"))]
    threads[0].start()
    while not batches:
        time.sleep(0.001)
    for ask in ("a", "a", "b"):
        t = threading.Thread(target=admission.submit, args=(ask, ask))
        t.start()
        threads.append(t)
        deadline = time.monotonic() + 5
        while len(admission._queue) < len(threads) - 1 and time.monotonic() < deadline:
            time.sleep(0.001)
    gate.set()
    for t in threads:
        t.join(5)
    assert batches == [["lead"], ["a", "b"], ["a"]]


def test_a_caller_queued_past_the_bound_gives_up_and_nothing_is_done_for_it() -> None:
    ran: list[int] = []
    gate = threading.Event()

    def run(asks: Sequence[int]) -> list[int]:
        ran.extend(asks)
        gate.wait(5)
        return list(asks)

    admission: Admission[int, int] = Admission(run, max_wait=0.05)
    leader = threading.Thread(target=admission.submit, args=(1,))
    leader.start()
    while not ran:
        time.sleep(0.001)
    with pytest.raises(AdmissionTimeout):
        admission.submit(2)
    gate.set()
    leader.join(5)
    assert ran == [1]
    assert admission.submit(3) == 3


LINES = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["X", "Y"]), st.integers(1, 5)),
    min_size=1,
    max_size=3,
)


@given(
    asks=st.lists(LINES, max_size=12),
    available=st.dictionaries(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["X", "Y"])),
        st.integers(0, 12),
    ),
)
def test_admission_never_takes_more_than_is_available_and_refuses_only_what_does_not_fit(
    asks: list[list[tuple[str, str, int]]], available: dict[tuple[str, str], int]
) -> None:
    lines = [[ReservationLine(s, loc, q) for s, loc, q in ask] for ask in asks]
    admitted, shortages = admit_reservations(lines, available)
    left = dict(available)
    for ask, ok, short in zip(lines, admitted, shortages, strict=True):
        need: dict[tuple[str, str], int] = {}
        for ln in ask:
            need[(ln.sku, ln.location)] = need.get((ln.sku, ln.location), 0) + ln.quantity
        fits = all(left.get(pair, 0) >= units for pair, units in need.items())
        # First come, first served: an ask is admitted exactly when it fits what is left.
        assert ok == fits
        assert bool(short) == (not ok)
        if ok:
            for pair, units in need.items():
                left[pair] = left.get(pair, 0) - units
    assert all(v >= 0 for pair, v in left.items() if pair in available)
