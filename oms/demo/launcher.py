"""`oms demo run` (`make demo`): oms in embedded mode with the demo brand, the three channel
emulators connected, and a receipt and orders that show the sync at work, without an account.

Every piece is a process of its own, as a deployment would have it: three `oms emulate`, then
`oms db upgrade`, `oms demo seed`, `oms demo connect` and `oms serve`, all on the SQLite
database of a fresh `var/demo/` (`OMS_HOME`, so the key that seals the channel credentials is
made there too, never in the project's own `var/`). The children run in sessions of their own:
Ctrl-C reaches this process only, which stops the server first, then the emulators.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import IO, Any, TypeVar

import httpx
from sqlalchemy import func, select

from oms.channels.sync.domain.model import ListingRef
from oms.db import make_engine
from oms.demo.channels import (
    DEMO_ORDERS,
    RECEIPT_LOCATION,
    RECEIPT_SKU,
    AmazonEmulator,
    StorefrontEmulator,
    amazon_seller_sku,
)
from oms.outbox import outbox
from oms.settings import PROJECT_ROOT

CHANNELS = ("amazon", "rakuten", "storefront")
RECEIPT_UNITS = 10
STARTUP_SECONDS = 60.0
SYNC_SECONDS = 60.0  # a push or a pull the demo waits for before it says something is wrong

T = TypeVar("T")


class DemoFailed(Exception):
    """A step of the demo did not happen; the message says which and where its log is."""


def free_port(preferred: int | None = None) -> int:
    if preferred is not None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Demo:
    home: Path
    say: Callable[[str], None]
    oms_port: int = 0
    admin_key: str = field(default_factory=lambda: f"demo-{secrets.token_urlsafe(16)}")
    urls: dict[str, str] = field(default_factory=dict)
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def oms_url(self) -> str:
        return f"http://127.0.0.1:{self.oms_port}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            OMS_HOME=str(self.home),
            OMS_DATABASE_URL="sqlite:///./oms.db",  # under OMS_HOME
            OMS_REDIS_URL="",  # the embedded mode: no Redis, the sync runs in `oms serve`
            OMS_BOOTSTRAP_ADMIN_KEY=self.admin_key,
            OMS_PORT=str(self.oms_port),
            PYTHONUNBUFFERED="1",
        )
        env.pop("OMS_SECRET_KEY", None)  # the demo's own key file, under OMS_HOME
        env.pop("OMS_CONFIG_FILE", None)
        return env

    # ------------------------------------------------------------------ processes

    def oms(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "oms.cli", *args]

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.home / f"{name}.log").open("ab")
        self.logs.append(log)
        child = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            command,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C is ours to handle; we stop them in order
        )
        self.children.append((name, child))
        return child

    def run(self, name: str, *args: str) -> str:
        """An `oms` command to its end; its output, or DemoFailed with it."""
        done = subprocess.run(  # noqa: S603 - our own command line, no shell
            self.oms(*args),
            cwd=PROJECT_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        (self.home / f"{name}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        if done.returncode != 0:
            raise DemoFailed(f"`oms {' '.join(args)}` failed:\n{done.stderr.strip()}")
        return done.stdout

    def check_children(self) -> None:
        for name, child in self.children:
            if child.poll() is not None:
                raise DemoFailed(
                    f"{name} stopped (exit {child.returncode}); see {self.home / name}.log"
                )

    def stop(self) -> None:
        """The server first (it finishes its sync pass), then the emulators."""
        for _name, child in reversed(self.children):
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for _name, child in reversed(self.children):
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for log in self.logs:
            log.close()

    def wait_for(self, what: str, probe: Callable[[], T | None], seconds: float) -> T:
        deadline = time.monotonic() + seconds
        while True:
            self.check_children()
            with suppress(httpx.HTTPError):
                found = probe()
                if found is not None:
                    return found
            if time.monotonic() > deadline:
                raise DemoFailed(f"{what}: nothing after {seconds:.0f} s; logs in {self.home}")
            time.sleep(0.2)

    # ------------------------------------------------------------------ the API

    def waiting_events(self) -> int:
        """Outbox events the server has not handled yet (a read: it takes no lock)."""
        engine = make_engine(f"sqlite:///{self.home / 'oms.db'}", pool_size=1)
        try:
            with engine.connect() as conn:
                query = select(func.count()).where(outbox.c.published_at.is_(None))
                return int(conn.execute(query).scalar_one())
        finally:
            engine.dispose()

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.oms_url,
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=10,
        )


@contextmanager
def interrupted_by_term() -> Iterator[None]:
    """SIGTERM (a `kill`) stops the demo as Ctrl-C does."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(say: Callable[[str], None], port: int = 8000) -> None:
    """Start everything, show a receipt and orders travel, then serve until Ctrl-C."""
    home = PROJECT_ROOT / "var" / "demo"
    shutil.rmtree(home, ignore_errors=True)  # every run starts fresh, as the emulators do
    home.mkdir(parents=True)
    demo = Demo(home, say, oms_port=free_port(port))
    with interrupted_by_term():
        try:
            _start(demo)
            _show_a_receipt(demo)
            on_their_way = _show_orders(demo)
            _what_next(demo)
            while True:
                demo.check_children()
                if on_their_way:
                    with suppress(httpx.HTTPError):
                        _announce_arrivals(demo, on_their_way)
                time.sleep(1.0)
        except KeyboardInterrupt:
            say("\nStopping oms and the emulators ...")
        finally:
            # A terminal's Ctrl-C reaches `make` and `uv` too, which pass it on: a second one
            # must not cut the stopping short and leave a child behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            demo.stop()
    say(f"Stopped. The demo's database and logs stay in {home} until the next `make demo`.")


def _start(demo: Demo) -> None:
    say = demo.say
    say(f"oms demo: everything under {demo.home}")
    for channel in CHANNELS:
        port = free_port()
        demo.urls[channel] = f"http://127.0.0.1:{port}"
        demo.start(f"emulator-{channel}", demo.oms("emulate", channel, "--port", str(port)))
    for channel, url in demo.urls.items():
        demo.wait_for(f"the {channel} emulator", partial(_answers, url), STARTUP_SECONDS)
        say(f"  {channel:<10} emulator  {url}")
    demo.run("db-upgrade", "db", "upgrade")
    demo.run("demo-seed", "demo", "seed")
    say("  demo brand seeded: 5 locations, ~200 SKUs, 3 channels and their rules")
    connect = [f"--{channel}={url}" for channel, url in demo.urls.items()]
    demo.run("demo-connect", "demo", "connect", *connect)
    say("  channels connected to the emulators (credentials sealed in the database)")
    demo.start("oms", demo.oms("serve", "--port", str(demo.oms_port)))
    demo.wait_for(
        "oms serve",
        lambda: httpx.get(f"{demo.oms_url}/ready", timeout=2).status_code == 200 or None,
        STARTUP_SECONDS,
    )
    say(f"  oms API             {demo.oms_url}  (embedded mode: SQLite, no Redis)")
    _write_env(demo)
    say("  $OMS, $KEY and the demo's database for another terminal: . var/demo/env")
    # The shop tells oms of each new order at once, as a subscribed Shopify app is told.
    storefront = StorefrontEmulator(demo.urls["storefront"])
    storefront.subscribe(f"{demo.oms_url}/webhooks/storefront/orders")


def _answers(url: str) -> bool | None:
    return httpx.get(f"{url}/_emulator/counters", timeout=2).status_code < 500 or None


def _oms_number(demo: Demo, channel: str, sku: str) -> int:
    with demo.api() as api:
        answer = api.get(f"/v1/channels/{channel}/availability", params={"sku": sku})
        answer.raise_for_status()
        [item] = answer.json()["items"]
        return int(item["available"])


def _receipt_curl(idempotency_key: str) -> str:
    body = (
        f'{{"type": "receipt", "sku": "{RECEIPT_SKU}", "location": "{RECEIPT_LOCATION}", '
        f'"quantity": {RECEIPT_UNITS}}}'
    )
    return (
        'curl -X POST $OMS/v1/stock/movements -H "Authorization: Bearer $KEY" '
        f"-H 'Idempotency-Key: {idempotency_key}' -H 'Content-Type: application/json' -d '{body}'"
    )


def _show_a_receipt(demo: Demo) -> None:
    say = demo.say
    amazon = AmazonEmulator(demo.urls["amazon"])
    listing = ListingRef(RECEIPT_SKU, amazon_seller_sku(RECEIPT_SKU))
    check = f"curl -s {demo.urls['amazon']}/_emulator/listings/{listing.remote_id}"
    before = _oms_number(demo, "amazon", RECEIPT_SKU)
    # Seeding wrote an event per number; the server works through them when it starts. The
    # receipt waits for that, so the time it takes to reach Amazon is the receipt's own.
    demo.wait_for("the seed's events", lambda: demo.waiting_events() == 0 or None, SYNC_SECONDS)
    demo.wait_for(
        "the first push to Amazon",
        lambda: amazon.quantity_of(listing) == before or None,
        SYNC_SECONDS,
    )
    say("")
    say(f"1. Amazon shows {before} of {RECEIPT_SKU} (seller SKU {listing.remote_id}).")
    say(f"   The DC receives {RECEIPT_UNITS} more:")
    say(f"   {_receipt_curl('demo-receipt-1')}")
    started = time.monotonic()
    with demo.api() as api:
        answer = api.post(
            "/v1/stock/movements",
            headers={"Idempotency-Key": "demo-receipt-1"},
            json={
                "type": "receipt",
                "sku": RECEIPT_SKU,
                "location": RECEIPT_LOCATION,
                "quantity": RECEIPT_UNITS,
            },
        )
        if answer.status_code >= 300:
            raise DemoFailed(f"the receipt was refused: {answer.text}")
    after = _oms_number(demo, "amazon", RECEIPT_SKU)
    demo.wait_for(
        "the receipt's push to Amazon",
        lambda: amazon.quantity_of(listing) == after or None,
        SYNC_SECONDS,
    )
    seconds = time.monotonic() - started
    say(f"   Amazon now shows {after} ({seconds:.1f} s after the receipt). Check it yourself:")
    say(f"   {check}")


def _show_orders(demo: Demo) -> dict[str, tuple[str, float]]:
    """Place an order on each channel; wait for those oms takes at once. Returns the ones still
    on their way (Amazon's): channel -> (its order id, when it was placed)."""
    say = demo.say
    say("")
    say("2. Buyers order on each channel (placed on the emulators with `oms demo order`):")
    placed: dict[str, tuple[str, float]] = {}
    for channel in CHANNELS:
        sku, units, _price = DEMO_ORDERS[channel]
        external_id = demo.run(f"order-{channel}", "demo", "order", "--channel", channel)
        placed[channel] = (external_id.strip(), time.monotonic())
        say(f"   {channel:<10} order {placed[channel][0]}: {units} x {sku}")
    how = {"storefront": "by its orders/create webhook", "rakuten": "by the sync's next pull"}
    with demo.api() as api:
        for channel, why in how.items():
            external_id, at = placed.pop(channel)
            order = demo.wait_for(
                f"the {channel} order {external_id} in oms",
                partial(_order, api, channel, external_id),
                SYNC_SECONDS,
            )
            say(
                f"   -> {channel} order in oms as order {order['id']} ({order['status']}) "
                f"{time.monotonic() - at:.1f} s after it was placed, {why}"
            )
    say(
        "   -> amazon: Amazon lists an order only once it is 2 minutes old (its LastUpdatedBefore "
        "rule), so it arrives in a little over 2 minutes; this window says when."
    )
    return placed


def _announce_arrivals(demo: Demo, on_their_way: dict[str, tuple[str, float]]) -> None:
    with demo.api() as api:
        for channel, (external_id, at) in list(on_their_way.items()):
            order = _order(api, channel, external_id)
            if order is not None:
                del on_their_way[channel]
                demo.say(
                    f"[{channel}] order {external_id} arrived in oms as order {order['id']} "
                    f"({order['status']}), {time.monotonic() - at:.0f} s after it was placed: "
                    f'curl $OMS/v1/orders/{order["id"]} -H "Authorization: Bearer $KEY"'
                )


def _order(api: httpx.Client, channel: str, external_id: str) -> dict[str, Any] | None:
    answer = api.get("/v1/orders", params={"channel": channel, "limit": 200})
    answer.raise_for_status()
    for order in answer.json()["items"]:
        if order["external_id"] == external_id:
            found: dict[str, Any] = order
            return found
    return None


def _write_env(demo: Demo) -> None:
    (demo.home / "env").write_text(
        f"export OMS_HOME={demo.home}\n"
        "export OMS_DATABASE_URL=sqlite:///./oms.db\n"
        f"export OMS={demo.oms_url}\n"
        f"export KEY={demo.admin_key}\n",
        encoding="utf-8",
    )


def _what_next(demo: Demo) -> None:
    env_file = demo.home / "env"
    lines = [
        "",
        "3. Try it yourself (in another terminal, from the project folder):",
        f"   . {env_file.relative_to(PROJECT_ROOT)}      # OMS, KEY and the demo's database",
        f"   API key (admin): {demo.admin_key}",
        f"   browse the API:  {demo.oms_url}/schema/swagger",
        f"   {_receipt_curl('demo-receipt-2')}   # a new key: another receipt",
        f"   curl {demo.urls['amazon']}/_emulator/listings/{amazon_seller_sku(RECEIPT_SKU)}"
        "   # what Amazon shows",
        '   curl $OMS/v1/sync/status -H "Authorization: Bearer $KEY"',
        "   .venv/bin/oms sync status",
        "   .venv/bin/oms demo order --channel rakuten      # another order; in oms within 10 s",
        f'   curl "$OMS/v1/channels/amazon/availability/{RECEIPT_SKU}/explain" '
        '-H "Authorization: Bearer $KEY"',
        "   .venv/bin/oms sync reconcile --channel rakuten",
        "   emulators: " + ", ".join(f"{channel} {url}" for channel, url in demo.urls.items()),
        f"   logs: {demo.home}/*.log",
        "",
        "Ctrl-C stops everything.",
    ]
    for line in lines:
        demo.say(line)
