"""Imports go down the layers, never up: the rule docs/architecture.md draws, checked on every module.

Why a test: a back-edge (the executor importing the client SDK, the SDK importing the server)
is one innocent-looking line, and each one makes a part impossible to read, test or replace
without the part above it. The layers below are the ones in docs/architecture.md
("Import layers"); a module may import its own package and any package of a LOWER layer, never
one of a higher layer nor a sibling of its own layer (siblings stay independent of each other).
Lazy imports inside functions and imports under ``TYPE_CHECKING`` count too: they are
dependencies all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. A name is a package (or top-level module) of chain/, or a dotted module inside one
# that sits in another layer than its package (the longest name that matches wins).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "recursion", "stats", "tomlcompat"),  # shared helpers, no chain imports
    ("crypto",),  # hashes, signatures, keys, certificates
    ("ledger", "abi"),  # the records and their store; the contract ABI
    ("execution", "logs", "wire"),  # running blocks; reading event logs; the JSON the server and SDK share
    ("txpool", "sdk"),  # admission rules and the pool; the client SDK (talks to a node only over the wire)
    ("consensus", "network", "contracts"),  # the PBFT replica (block sync included); TCP+TLS; sample contracts
    ("rpc",),  # JSON-RPC (FISCO 2.x / 3.x) against the NodeApi protocol
    ("web3", "channel"),  # the Ethereum dialect; FISCO's channel protocol (AMOP)
    ("node", "sim"),  # the two drivers of the replica: real processes, the deterministic simulator
    ("tamper", "bench", "channel.demo", "execution.dmc.example"),  # tools over whole chains; lesson examples
    ("scenarios",),  # scripted classroom runs (in the simulator or real processes)
    ("web",),  # the dashboard
    ("cli",),  # the `chain` command: everything
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


class Import(NamedTuple):
    path: str  # relative to the repository
    line: int
    source: str  # the importing module's layer name
    target: str  # the imported module's layer name
    module: str  # the imported module, as written


def layer_of(module: str) -> str | None:
    """The LAYERS name a module of chain belongs to ("chain.channel.demo" -> "channel.demo")."""
    parts = module.split(".")
    if parts[0] != "chain" or len(parts) < 2:
        return None
    for end in range(len(parts), 1, -1):
        name = ".".join(parts[1:end])
        if name in RANK:
            return name
    return parts[1]


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[Import]:
    """Every import of a chain module in the file at path (relative imports resolved)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    source = layer_of(here)
    assert source is not None
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from chain import x" imports the module chain.x
            modules = [f"{base}.{alias.name}" for alias in node.names] if base == "chain" else [base]
        else:
            continue
        for module in modules:
            target = layer_of(module)
            if target is not None:
                yield Import(str(path.relative_to(ROOT)), node.lineno, source, target, module)


def violation(imp: Import) -> str | None:
    """Why this import breaks the layer rule, or None if it keeps it."""
    if imp.target == imp.source:
        return None
    for side in (imp.source, imp.target):
        if side not in RANK:
            return f"{imp.path}:{imp.line}: chain.{side} is in no layer: add it to LAYERS and docs/architecture.md"
    if imp.source.startswith(imp.target + "."):
        return None  # a module placed above its package (channel.demo) uses the rest of the package
    source_rank, target_rank = RANK[imp.source], RANK[imp.target]
    if target_rank < source_rank:
        return None
    rule = "a sibling in its own layer" if target_rank == source_rank else "a HIGHER layer"
    return (f"{imp.path}:{imp.line}: chain.{imp.source} (layer {source_rank}) imports {imp.module}, "
            f"{rule} (chain.{imp.target}, layer {target_rank}): imports go down the layers only")


def all_imports() -> list[Import]:
    paths = sorted(p for p in (ROOT / "chain").rglob("*.py") if p != ROOT / "chain" / "__init__.py")
    return [imp for path in paths for imp in imports_of(path)]


def test_no_module_imports_upward() -> None:
    problems = [v for v in map(violation, all_imports()) if v is not None]
    assert not problems, "\n".join(problems)


def test_every_package_has_a_layer() -> None:
    packages = {p.name if p.is_dir() else p.stem for p in (ROOT / "chain").iterdir()
                if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")}
    assert packages - set(RANK) == set(), "packages missing from LAYERS (and docs/architecture.md)"


@pytest.mark.parametrize(("source", "target", "allowed"), [
    ("chain.execution.executor", "chain.ledger.block", True),  # down
    ("chain.execution.local", "chain.sdk.compiler", False),  # up: the back-edge chain/abi removed
    ("chain.consensus.pbft.replica", "chain.network.host", False),  # sibling
    ("chain.channel.demo", "chain.node.builder", True),  # a module in a higher layer than its package
    ("chain.channel.server", "chain.channel.demo", False),  # ...which the package may not import
    ("chain.channel.demo", "chain.channel.client", True),
])
def test_the_rule_itself(source: str, target: str, allowed: bool) -> None:
    imp = Import("x.py", 1, layer_of(source) or "", layer_of(target) or "", target)
    assert (violation(imp) is None) == allowed


def test_the_documented_layers_are_these() -> None:
    """docs/architecture.md lists the same layers, in the same order, as this test enforces."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Import layers", 1)[1].split("\n## ", 1)[0]
    documented = [line for line in section.splitlines() if line.startswith("| ") and line[2:3].isdigit()]
    assert len(documented) == len(LAYERS)
    for row, names in zip(documented, LAYERS):
        for name in names:
            assert f"`{name}`" in row, f"docs/architecture.md layer row {row!r} lacks `{name}`"
