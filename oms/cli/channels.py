"""Channel connections and listings: `oms channels connection show|set` and
`oms channels listings import|export`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from oms.channels.sync.domain.listings import ListingsEncoding, ListingsFileInvalid
from oms.cli.common import actor_name, app, clean_errors, fail, rows_text, runtime, stderr, stdout
from oms.sqlite import reading

channels_app = typer.Typer(help="Channel connections and listings.", no_args_is_help=True)
app.add_typer(channels_app, name="channels")
connection_app = typer.Typer(
    help="How oms reaches a channel: endpoint, credentials.", no_args_is_help=True
)
channels_app.add_typer(connection_app, name="connection")
listings_app = typer.Typer(
    help="Which SKU is which channel item: CSV import and export.", no_args_is_help=True
)
channels_app.add_typer(listings_app, name="listings")

Channel = Annotated[str, typer.Option("--channel", help="The channel's code.")]
_IMPORT_ENCODING = "auto (UTF-8 with or without a BOM, else Shift_JIS), utf-8 or shift_jis."
_EXPORT_ENCODING = "utf-8, or shift_jis (written as cp932, as Japanese spreadsheets read it)."


@connection_app.command("show")
@clean_errors
def connection_show(channel: Channel) -> None:
    """Print the channel's connection as JSON, every secret masked.

    Saved to a file and edited, it is what `oms channels connection set --file` takes back:
    the masked secrets keep the stored ones.
    """
    with runtime() as rt, reading():
        view = rt.connections.get(channel)
    typer.echo(json.dumps(view.as_document(), ensure_ascii=False, indent=2))


@connection_app.command("set")
@clean_errors
def connection_set(
    channel: Channel,
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            exists=True,
            dir_okay=False,
            readable=True,
            help="A JSON file of the connection's fields: secrets stay out of shell history.",
        ),
    ],
) -> None:
    """Store the channel's connection from a JSON file (the fields are in the README).

    A first connection needs every secret; later ones keep a secret left out or masked.
    """
    try:
        body: Any = json.loads(file.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        # The position only: the file's text holds secrets.
        where = f" (line {error.lineno})" if isinstance(error, json.JSONDecodeError) else ""
        fail(f"{file.name}: not a JSON document{where}", code=2)
    if not isinstance(body, dict):
        fail(f"{file.name}: must hold a JSON object of the connection's fields", code=2)
    with runtime() as rt:
        view = rt.connections.put(channel, body, actor_name("oms channels connection set"))
    stdout().print(
        f"connection of {view.channel} ({view.kind}) stored; secrets are encrypted",
        markup=False,
        soft_wrap=True,
    )


@listings_app.command("import")
@clean_errors
def listings_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, metavar="FILE")
    ],
    channel: Channel,
    encoding: Annotated[
        ListingsEncoding, typer.Option(case_sensitive=False, help=_IMPORT_ENCODING)
    ] = ListingsEncoding.AUTO,
) -> None:
    """List SKUs on a channel from CSV: sku,remote_id,remote_variant.

    remote_id is the Amazon seller SKU, the Rakuten manage number or the storefront inventory
    item id; remote_variant is Rakuten's variant id (empty elsewhere). Every row is checked
    first, and a file with a bad row changes nothing. Listings the file does not name stay.
    """
    data = file.read_bytes()
    with runtime() as rt:
        try:
            outcome = rt.listings.import_file(
                channel, data, actor_name("oms channels listings import"), encoding
            )
        except ListingsFileInvalid as invalid:
            err = stderr()
            for error in invalid.errors:
                err.print(str(error), markup=False, soft_wrap=True)
            fail(f"{file.name}: {invalid.detail}")
    stdout().print(
        f"{file.name}: {outcome.created} listed, {outcome.updated} changed, "
        f"{outcome.unchanged} unchanged",
        markup=False,
        soft_wrap=True,
    )


@listings_app.command("export")
@clean_errors
def listings_export(
    channel: Channel,
    encoding: Annotated[
        ListingsEncoding, typer.Option(case_sensitive=False, help=_EXPORT_ENCODING)
    ] = ListingsEncoding.UTF8,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", dir_okay=False, help="Write here instead of stdout."),
    ] = None,
) -> None:
    """Export the channel's listings as CSV, in the import format."""
    if encoding is ListingsEncoding.AUTO:
        encoding = ListingsEncoding.UTF8
    with runtime() as rt, reading():
        data = rt.listings.export_file(channel, encoding)
    if output is None:
        stream = typer.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()
        return
    partial = output.with_name(output.name + ".part")
    try:
        partial.write_bytes(data)
        os.replace(partial, output)  # never leave a half-written export under its name
    finally:
        partial.unlink(missing_ok=True)
    rows = data.count(b"\n") - 1
    stderr().print(f"Exported {rows_text(rows)} of listings to {output}", markup=False)
