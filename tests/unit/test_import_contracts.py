"""The import contracts cover the whole package: a new module cannot slip outside them."""

from __future__ import annotations

import pkgutil
import re
import tomllib

import oms
from oms.settings import PROJECT_ROOT


def _contract(name: str) -> dict[str, object]:
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["name"] == name:
            return dict(contract)
    raise AssertionError(f"no import contract named {name!r}")


def test_every_top_level_module_is_in_a_layer_of_the_composition_contract() -> None:
    layers = _contract("Composition")["layers"]
    assert isinstance(layers, list)
    listed = {m for layer in layers for m in re.split(r"[|:]", str(layer)) if m.strip()}
    listed = {m.strip() for m in listed}
    modules = {f"oms.{info.name}" for info in pkgutil.iter_modules(oms.__path__)}
    assert modules - listed == set(), "add these to the Composition contract's layers"


def test_every_context_package_is_a_container_of_the_exhaustive_layers_contract() -> None:
    contract = _contract("Context layers")
    assert contract.get("exhaustive") is True
    containers = set(contract["containers"])  # type: ignore[call-overload]
    # Packages at a context's edge, each a layer of a contract of its own.
    edges = _contract("Channel edges")["layers"]
    assert isinstance(edges, list)
    containers |= {m.strip() for layer in edges for m in re.split(r"[|:]", str(layer))}
    upstream = _contract("Contexts depend upstream")["layers"]
    assert isinstance(upstream, list)
    contexts = {str(layer) for layer in upstream}
    packages = {f"oms.{i.name}" for i in pkgutil.iter_modules(oms.__path__) if i.ispkg}
    not_contexts = {"oms.shared", "oms.demo", "oms.cli"}  # in the Composition contract
    assert packages - contexts - not_contexts == set(), "a context without contract"
    for context in contexts:
        package = __import__(context, fromlist=["_"])
        inner = list(pkgutil.iter_modules(package.__path__))
        if not inner:
            continue  # an empty context (returns, until it is built)
        # A context is a container itself, or made of sub-packages that each are.
        subpackages = [m for m in inner if m.ispkg]
        only_subpackages = all(m.ispkg for m in inner)
        covered = context in containers or (
            only_subpackages and all(f"{context}.{m.name}" in containers for m in subpackages)
        )
        assert covered, f"{context} has modules outside the layers contract"
