"""Compile contracts for a chain of either suite: Solidity (solc-js via node) and Vyper (in-process).

Both compilers hash names with Keccak-256; on an sm chain clients hash them with SM3 (FISCO BCOS
ships an SM3 build of solc for that). Here:

* **Solidity** is compiled by stock solc-js with the optimiser on in both suites (in the sm suite,
  if solc's constant optimiser re-encoded a selector as a shift of fewer bytes, again without it). Its sm output is then rewritten as an SM3 solc would have written it (`sm_rewrite`): every
  selector, error selector, interface id, event topic and folded ``keccak256("literal")`` replaced in
  place, and the function dispatcher — a binary search over the numeric order of the selectors —
  rebuilt for the SM3 selectors in the bytes it occupies (`sm_dispatch`).
* **Vyper** is compiled in-process with its optimiser on and its hashing of selectors, event ids
  and folded ``keccak256`` literals swapped for SM3 while it compiles: it computes SM3 natively.
* Every sm artifact is **verified** against its ABI (`sm_verify`) before it is returned or written.

Both compilers target ``evmVersion`` cancun, which py-evm executes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from chain.abi.artifact import EVM_VERSION, Artifact
from chain.abi.codec import signature_of
from chain.crypto.hashing import keccak256
from chain.crypto.suite import CryptoSuite, get_suite
from chain.errors import ChainError
from chain.sdk.sm_rewrite import SYSTEM_SIGNATURES, HashMap, RewriteError, hash_map, rewrite_init, rewrite_runtime
from chain.sdk.sm_verify import VerifyError, verify

__all__ = ["SYSTEM_SIGNATURES", "Artifact", "CompileError", "compile_file", "compile_solidity", "compile_vyper",
           "check_artifact", "find_openzeppelin", "find_solcjs", "load", "rewrite_hashes", "save"]

SOLC_VERSION = "0.8.30"
OPENZEPPELIN_VERSION = "5.4.0"  # @openzeppelin/contracts, installed next to solc-js on demand
SOLC_HOME_ENV = "CHAIN_SOLC_DIR"  # a directory holding node_modules/solc (overrides the cache)
SOLC_OUTPUTS_KEPT = 100  # solc outputs kept in the cache (each up to a few MB with its AST)


class CompileError(ChainError):
    """A source that does not compile, a missing compiler, or bytecode the sm rewrite cannot handle."""


@contextmanager
def _refusals() -> Iterator[None]:
    """The sm rewrite's and verifier's refusals, reported as compile errors."""
    try:
        yield
    except (RewriteError, VerifyError) as exc:
        raise CompileError(f"sm suite: {exc}") from exc


def rewrite_hashes(code: bytes, suite: CryptoSuite, abi: Sequence[Mapping[str, Any]]) -> bytes:
    """Runtime code with Keccak selectors, topics and dispatcher turned into the suite's (identity in standard).

    abi should list every function the code calls, not only its own (the system contracts' methods
    are always included).
    """
    if suite.name == "standard":
        return bytes(code)
    hashes = hash_map(suite, [abi])
    own = {keccak256(signature_of(e).encode())[:4]: suite.hash(signature_of(e).encode())[:4]
           for e in abi if e.get("type") == "function"}
    with _refusals():
        return rewrite_runtime(code, hashes, own)[0]


def check_artifact(artifact: Artifact, suite: CryptoSuite) -> None:
    """Refuse an sm artifact whose code still holds Keccak selectors/topics or lacks an SM3 selector."""
    if artifact.suite == "sm":
        with _refusals():
            verify(artifact.runtime, artifact.bytecode, artifact.abi, suite)


# --- Solidity through solc-js ------------------------------------------------------------------------

_SOLC_SCRIPT = r"""
const solc = require(process.argv[process.argv.length - 1]);
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => { process.stdout.write(solc.compile(input)); });
"""


def _solc_home() -> Path:
    if os.environ.get(SOLC_HOME_ENV):
        return Path(os.environ[SOLC_HOME_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "chain" / f"solc-{SOLC_VERSION}"


def find_solcjs(install: bool = True) -> Path:
    """The solc-js package directory, installing solc@SOLC_VERSION with npm into the cache if allowed."""
    home = _solc_home()
    package = home / "node_modules" / "solc"
    if (package / "soljson.js").exists():
        return package
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise CompileError(
            "Solidity needs node and npm (the solc-js compiler); install Node.js, or write the "
            "contract in Vyper, which compiles in-process"
        )
    if not install:
        raise CompileError(f"solc-js {SOLC_VERSION} is not installed in {home}")
    home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(home), f"solc@{SOLC_VERSION}"],
        capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0 or not (package / "soljson.js").exists():
        raise CompileError(f"npm could not install solc@{SOLC_VERSION}: {result.stderr.strip()[-500:]}")
    return package


def find_openzeppelin(install: bool = True) -> Path:
    """The node_modules directory holding @openzeppelin/contracts@OPENZEPPELIN_VERSION (installed with npm into the cache)."""
    modules = _solc_home() / "node_modules"
    package = modules / "@openzeppelin" / "contracts"
    try:
        installed = json.loads((package / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        installed = None
    if installed == OPENZEPPELIN_VERSION:
        return modules
    if shutil.which("npm") is None:
        raise CompileError("OpenZeppelin contracts are installed with npm; install Node.js")
    if not install:
        raise CompileError(f"@openzeppelin/contracts {OPENZEPPELIN_VERSION} is not installed in {modules.parent}")
    modules.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(modules.parent),
         f"@openzeppelin/contracts@{OPENZEPPELIN_VERSION}"],
        capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0 or not (package / "package.json").exists():
        raise CompileError(f"npm could not install @openzeppelin/contracts@{OPENZEPPELIN_VERSION}: "
                           f"{result.stderr.strip()[-500:]}")
    return modules


def _solc_settings(units: Sequence[str] = (), libraries: Mapping[str, str] | None = None,
                   constant_optimizer: bool = True) -> dict[str, Any]:
    optimizer: dict[str, Any] = {"enabled": True, "runs": 200}
    if not constant_optimizer:
        optimizer["details"] = {"constantOptimizer": False}
    settings: dict[str, Any] = {
        "evmVersion": EVM_VERSION,
        "optimizer": optimizer,
        "outputSelection": {
            "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"],
                  "": ["ast"]},
        },
    }
    if libraries:  # deployed libraries by name: solc links their addresses into the code that calls them
        settings["libraries"] = {unit: dict(libraries) for unit in units}
    return settings


def _run_solc(sources: Mapping[str, str], libraries: Mapping[str, str] | None = None,
              constant_optimizer: bool = True) -> dict[str, Any]:
    package = find_solcjs()
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": _solc_settings(sorted(sources), libraries, constant_optimizer),
    }
    text = json.dumps(request, sort_keys=True)
    # solc is deterministic and slow (seconds per contract in wasm): its outputs are kept, by request
    cached = _solc_home() / "outputs" / f"{hashlib.sha256(text.encode()).hexdigest()}.json"
    if cached.exists():
        try:
            output = json.loads(cached.read_text())
            cached.touch()  # recently used: kept longest
            return output
        except ValueError:
            pass  # a half-written entry: compile again
    output = _solc(package, text)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(output))
    partial.replace(cached)
    kept = sorted(cached.parent.glob("*.json"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in kept[SOLC_OUTPUTS_KEPT:]:  # the cache stays bounded: the least recently written go
        old.unlink(missing_ok=True)
    return output


def _solc(package: Path, text: str) -> dict[str, Any]:
    result = subprocess.run(
        ["node", "-e", _SOLC_SCRIPT, str(package.resolve())],
        input=text, capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:
        raise CompileError(f"solc-js failed: {result.stderr.strip()[-1000:]}")
    output = json.loads(result.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    return output


def _ast_nodes(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, dict):
        if "nodeType" in node:
            yield node
        for value in node.values():
            yield from _ast_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _ast_nodes(value)


def _solidity_hashes(output: Mapping[str, Any], suite: CryptoSuite) -> HashMap:
    """Every Keccak-derived constant of a solc output, with its SM3 value (see `sm_rewrite`)."""
    contracts = {name: c for unit in output.get("contracts", {}).values() for name, c in unit.items()}
    signatures = [sig for c in contracts.values() for sig in c.get("evm", {}).get("methodIdentifiers", {})]
    hashes = hash_map(suite, [c["abi"] for c in contracts.values()], signatures)
    asts = [unit.get("ast") for unit in output.get("sources", {}).values()]
    for node in (n for ast in asts for n in _ast_nodes(ast)):
        if node["nodeType"] == "ContractDefinition" and node.get("contractKind") == "interface":
            by_selector = {v: k for k, v in contracts.get(node["name"], {}).get("evm", {}).get("methodIdentifiers", {}).items()}
            declared = [by_selector[f["functionSelector"]] for f in node.get("nodes", ())
                        if f.get("nodeType") == "FunctionDefinition" and f.get("functionSelector") in by_selector]
            hashes.add_interface(suite, node["name"], declared)
        elif node["nodeType"] == "FunctionCall" and node.get("expression", {}).get("name") == "keccak256":
            for argument in node.get("arguments", ()):
                if argument.get("nodeType") == "Literal" and argument.get("hexValue") is not None:
                    hashes.add_literal_hash(suite, bytes.fromhex(argument["hexValue"]))
    return hashes


def _code(contract: Mapping[str, Any], key: str, name: str) -> bytes:
    text = contract["evm"][key]["object"]
    if "__$" in text:
        raise CompileError(f"{name} calls a public library function: deploy the library first and name its "
                           "address (chain compile --library Name=0xADDRESS), or make the function internal")
    return bytes.fromhex(text)


def compile_solidity(sources: Mapping[str, str], suite: CryptoSuite,
                     libraries: Mapping[str, str] | None = None) -> dict[str, Artifact]:
    """Compile Solidity sources {source unit name: text}; every contract with code, by name.

    libraries: {library name: "0x" address} of deployed libraries whose public functions the code calls.
    """
    if suite.name == "standard":
        output = _run_solc(sources, libraries)
        compiled = [contract for contracts in output.get("contracts", {}).values() for contract in contracts.items()]
        codes = {name: (_code(c, "bytecode", name), _code(c, "deployedBytecode", name)) for name, c in compiled}
        return {name: Artifact(name, tuple(c["abi"]), codes[name][0], codes[name][1], suite.name, f"solc {SOLC_VERSION}")
                for name, c in compiled if codes[name][0]}
    try:
        return _sm_artifacts(_run_solc(sources, libraries), suite)
    except CompileError as refused:
        if not isinstance(refused.__cause__, (RewriteError, VerifyError)):
            raise
    # solc's constant optimiser re-encodes some selectors as shifts of fewer bytes (0x08c379a0, in
    # every require with a message, as 0x461bcd << 229), leaving no room for the SM3 selector;
    # without it every selector is a PUSH4 or a PUSH32 (larger code, the same execution)
    return _sm_artifacts(_run_solc(sources, libraries, constant_optimizer=False), suite)


def _sm_artifacts(output: Mapping[str, Any], suite: CryptoSuite) -> dict[str, Artifact]:
    """The sm artifacts of a solc output: every contract rewritten and verified."""
    compiled = [contract for contracts in output.get("contracts", {}).values() for contract in contracts.items()]
    codes = {name: (_code(c, "bytecode", name), _code(c, "deployedBytecode", name)) for name, c in compiled}
    hashes = _solidity_hashes(output, suite)
    done: dict[str, Artifact] = {}
    waiting = [(name, c) for name, c in compiled if codes[name][0]]  # interfaces and abstract contracts have no code
    while waiting:
        # a contract that deploys another (`new C()`) carries C's code: rewrite C first, then paste it in
        ready = [(name, c) for name, c in waiting
                 if not any(codes[o][0] in codes[name][0] for o, _ in waiting if o != name)]
        for name, contract in ready or waiting[:1]:
            done[name] = _sm_solidity(name, contract, codes[name], hashes, suite,
                                      {codes[o][0]: a.bytecode for o, a in done.items()})
        waiting = [(name, c) for name, c in waiting if name not in done]
    return {name: done[name] for name, c in compiled if name in done}


def _sm_solidity(name: str, contract: Mapping[str, Any], code: tuple[bytes, bytes], hashes: HashMap,
                 suite: CryptoSuite, others: Mapping[bytes, bytes]) -> Artifact:
    """One contract's sm artifact from solc's Keccak output (others: contracts it may carry, already sm)."""
    bytecode, runtime = code
    own = {bytes.fromhex(k): suite.hash(sig.encode())[:4] for sig, k in contract["evm"].get("methodIdentifiers", {}).items()}
    with _refusals():
        new_runtime, dispatcher = rewrite_runtime(runtime, hashes, own, others)
        new_bytecode = rewrite_init(bytecode, runtime, new_runtime, hashes, others)
        verify(new_runtime, new_bytecode, contract["abi"], suite, keccak_runtime=runtime, dispatcher=dispatcher)
    return Artifact(name, tuple(contract["abi"]), new_bytecode, new_runtime, suite.name, f"solc {SOLC_VERSION}")


# --- Vyper, in-process -------------------------------------------------------------------------------------

_VYPER_HASHING = threading.Lock()  # the patched hash is module state: one sm compilation at a time


@contextmanager
def _vyper_hashing(suite: CryptoSuite) -> Iterator[None]:
    """Make vyper hash names (selectors, event ids, folded keccak256 literals) with the suite's hash.

    vyper computes every such value through ``vyper.utils.keccak256`` — directly, or through the
    copies its modules imported by name — so swapping those names is enough; they are put back after.
    """
    import vyper.builtins.functions
    import vyper.semantics.types.function
    import vyper.semantics.types.user
    import vyper.utils

    modules = (vyper.utils, vyper.semantics.types.function, vyper.semantics.types.user, vyper.builtins.functions)
    with _VYPER_HASHING:
        saved = [module.keccak256 for module in modules]
        try:
            for module in modules:
                module.keccak256 = suite.hash
            yield
        finally:
            for module, original in zip(modules, saved):
                module.keccak256 = original


def compile_vyper(name: str, source: str, suite: CryptoSuite) -> Artifact:
    """Compile one Vyper contract, optimised, hashing names with the suite's hash."""
    try:
        import vyper
        from vyper.compiler.settings import OptimizationLevel, Settings
    except ImportError as exc:  # pragma: no cover - vyper is a main dependency
        raise CompileError("the vyper package is not installed") from exc
    try:
        with _vyper_hashing(suite):
            output = vyper.compile_code(
                source, output_formats=["abi", "bytecode", "bytecode_runtime"],
                settings=Settings(evm_version=EVM_VERSION, optimize=OptimizationLevel.GAS),
            )
    except Exception as exc:  # vyper raises its own exception tree; report it as ours
        raise CompileError(f"vyper: {exc}") from exc
    bytecode = bytes.fromhex(output["bytecode"].removeprefix("0x"))
    runtime = bytes.fromhex(output["bytecode_runtime"].removeprefix("0x"))
    artifact = Artifact(name, tuple(output["abi"]), bytecode, runtime, suite.name, f"vyper {vyper.__version__}")
    check_artifact(artifact, suite)
    return artifact


def compile_file(path: Path, suite: CryptoSuite, libraries: Mapping[str, str] | None = None) -> dict[str, Artifact]:
    """Compile a .sol or .vy file (a .sol file's imports resolved next to it or in node_modules)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CompileError(f"cannot read {path}: {exc}") from exc
    if path.suffix == ".vy":
        return {path.stem: compile_vyper(path.stem, text, suite)}
    if path.suffix == ".sol":
        sources = {path.name: text}
        _collect_imports(path.name, path, text, sources)
        return compile_solidity(sources, suite, libraries)
    raise CompileError(f"{path}: expected a .sol or .vy file")


_IMPORT = re.compile(r'^\s*import\s+(?:[^"\';]*from\s+)?["\']([^"\']+)["\']', re.MULTILINE)


def _package_dirs(path: Path) -> list[Path]:
    """Where a package import ("@openzeppelin/...") may live: node_modules above the file, then the cache."""
    above = [parent / "node_modules" for parent in path.resolve().parents]
    return [d for d in above if d.is_dir()] + [_solc_home() / "node_modules"]


def _collect_imports(unit: str, path: Path, text: str, sources: dict[str, str]) -> None:
    """Add the files a Solidity source imports, recursively, under the source unit names solc expects.

    A relative import ("./x.sol") is read next to the importing file; a package import
    ("@openzeppelin/contracts/...") from a node_modules directory above the file, or from the cache
    (OpenZeppelin's contracts are installed there on first use). An import found nowhere is left
    for solc to report.
    """
    for target in _IMPORT.findall(text):
        if target.startswith("."):
            name = os.path.normpath(os.path.join(os.path.dirname(unit), target))
            file = (path.parent / target).resolve()
        else:
            name = target
            if target.startswith("@openzeppelin/contracts/"):
                find_openzeppelin()
            file = next((d / target for d in _package_dirs(path) if (d / target).is_file()), Path(target))
        if name in sources:
            continue
        try:
            sources[name] = file.read_text()
        except OSError:
            continue  # solc names the missing import
        _collect_imports(name, file, sources[name], sources)


def save(artifact: Artifact, directory: Path, abi_and_bin: bool = True) -> Path:
    """Write <name>.json (abi, bytecode, runtime), plus the .abi and .bin files FISCO tools expect."""
    check_artifact(artifact, get_suite(artifact.suite))  # never write an sm artifact that fails the check
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if abi_and_bin:
        (directory / f"{artifact.name}.abi").write_text(json.dumps(list(artifact.abi), indent=1) + "\n")
        (directory / f"{artifact.name}.bin").write_text(artifact.bytecode.hex() + "\n")
    target = directory / f"{artifact.name}.json"
    target.write_text(json.dumps(artifact.to_json(), indent=1) + "\n")
    return target


def load(path: Path) -> Artifact:
    try:
        return Artifact.from_json(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError) as exc:
        raise CompileError(f"{path} is not a compiled contract artifact: {exc}") from exc
