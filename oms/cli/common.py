"""What every `oms` command shares: the command tree, settings, the composition root, and
one-line errors."""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from oms.bootstrap import Services, bootstrap
from oms.settings import Settings
from oms.shared.errors import DomainError

P = ParamSpec("P")
R = TypeVar("R")

PROGRESS_THRESHOLD = 200  # rows; smaller imports finish before a bar is worth drawing

app = typer.Typer(
    name="oms",
    help="Omnichannel inventory and order management.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for the HTTP API.", no_args_is_help=True)
inventory_app = typer.Typer(help="Inventory checks.", no_args_is_help=True)
stock_app = typer.Typer(help="Stock files: CSV import and export.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(inventory_app, name="inventory")
app.add_typer(stock_app, name="stock")
app.add_typer(demo_app, name="demo")
orders_app = typer.Typer(help="Orders.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")


# --------------------------------------------------------------------------- wiring


def _console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False)
    # Piped into a script or a log, a line is not folded at 80 columns (a long path in the
    # middle of a message would break whoever greps it).
    console.soft_wrap = not console.is_terminal
    return console


def stdout() -> Console:
    return _console(stderr=False)


def stderr() -> Console:
    return _console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    stderr().print(f"error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def describe(error: DomainError) -> str:
    return f"{error.field}: {error.detail}" if error.field else error.detail


def clean_errors(command: Callable[P, R]) -> Callable[P, R]:
    """A refused command is one line on stderr and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DomainError as error:
            fail(describe(error))
        except SQLAlchemyError as error:
            cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            hint = ""
            if "no such table" in cause or "does not exist" in cause:
                hint = " (is the schema up to date? run `oms db upgrade`)"
            fail(f"database: {cause}{hint}")

    return wrapper


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"OMS_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors()
        )
        fail(f"configuration: {problems}", code=2)
    # Every command says which database it works on: a wrong OMS_* or folder shows at once.
    stderr().print(f"database: {safe_url(settings.database_url)}", markup=False, soft_wrap=True)
    return settings


CLI_WRITE_WAIT_SECONDS = 600.0


@contextmanager
def runtime() -> Iterator[Services]:
    # A command is a batch job: it may wait longer behind a busy server than an HTTP caller.
    services = bootstrap(load_settings(), pool_size=2, write_wait_seconds=CLI_WRITE_WAIT_SECONDS)
    try:
        yield services
    finally:
        services.close()


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def actor_name(command: str) -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = ""
    return f"{command} ({user})"[:100] if user else command


IMPORT_ENCODING = "utf-8 (with or without a BOM), or shift_jis / cp932 (both read as cp932)."
EXPORT_ENCODING = "utf-8, or shift_jis / cp932 (both written as cp932)."


def rows_text(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"
