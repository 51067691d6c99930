"""Every command the README documents exists as written and runs without `uv` on PATH.

`make run` / `make test` install uv only into `.tools/` when it is missing, so a documented
`uv run ...` fails on such a machine; `.venv/bin/oms` (or `oms` in the activated venv) works.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import typer

from oms.cli import app
from oms.settings import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
SHELL_BLOCKS = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)


def _documented_oms_commands() -> list[str]:
    found: list[str] = []
    for block in SHELL_BLOCKS:
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            for prefix in ("oms ", ".venv/bin/oms "):
                if command.startswith(prefix):
                    found.append(command.removeprefix(prefix))
    return found


def test_the_readme_never_needs_uv_on_the_path() -> None:
    assert "uv run" not in README


def test_the_readme_documents_the_cli() -> None:
    assert len(_documented_oms_commands()) >= 15


@pytest.mark.parametrize("line", _documented_oms_commands())
def test_every_documented_oms_command_and_option_exists(line: str) -> None:
    # "[--dry-run]" marks an optional part: check what is inside too.
    words = shlex.split(line.replace("[", " ").replace("]", " ").replace("|", " "))
    # Typer ships its own click: walk the tree by its attributes, not by click's classes.
    command: Any = typer.main.get_command(app)
    while hasattr(command, "commands") and words and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    assert not hasattr(command, "commands"), f"{line!r}: no such command"
    known = {opt for param in command.params for opt in param.opts}
    for word in words:
        if word.startswith("-"):
            assert word.split("=", 1)[0] in known, f"{line!r}: {word} is not an option"
