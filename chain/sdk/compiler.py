"""Compile contracts for a chain of either suite: Solidity (solc-js via node) and Vyper (in-process).

Both compilers hash names with Keccak-256: the dispatcher compares the call's first 4 bytes with
keccak selectors, and ``emit`` logs keccak topics. On an sm chain clients compute selectors and
topics with SM3 (FISCO BCOS ships an SM3 build of solc for that). We get the same result from a
stock compiler by **rewriting the constants** in the bytecode, as an SM3 compiler would have
emitted them:

* every ``PUSH4 <keccak selector>`` of a function, error, ``Error(string)`` or ``Panic(uint256)``
  becomes ``PUSH4 <sm3 selector>``;
* every ``PUSH32 <keccak topic>`` of an event becomes ``PUSH32 <sm3 topic>``, and a selector
  left-aligned in 32 bytes (the optimiser's form of ``shl(224, selector)``) likewise.

Instructions are decoded one by one (a PUSH's data is never mistaken for an opcode) and lengths do
not change, so jump targets stay valid. In the sm suite solc runs without its optimiser, whose
constant tricks (a selector pushed shifted right, then ``SHL``) hide selectors. The rewrite refuses, rather than guess, when the dispatcher
compares selectors by *order* (solc's binary search for more than 4 external functions: ``PUSH4
sel GT``) or pushes a selector with a leading zero byte in fewer than 4 bytes. Vyper is compiled
without optimisation in the sm suite, which gives its linear dispatcher (its optimised ones hash
selectors into buckets). Both compilers target ``evmVersion`` cancun, which py-evm executes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from chain.crypto.hashing import keccak256
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.sdk.abi import ERROR_SIGNATURE, PANIC_SIGNATURE, signature_of

SOLC_VERSION = "0.8.30"
EVM_VERSION = "cancun"
SOLC_HOME_ENV = "CHAIN_SOLC_DIR"  # a directory holding node_modules/solc (overrides the cache)

PUSH1, PUSH4, PUSH32 = 0x60, 0x63, 0x7F
SHL = 0x1B
ORDER_COMPARISONS = {0x10, 0x11, 0x12, 0x13}  # LT GT SLT SGT


class CompileError(ChainError):
    """A source that does not compile, a missing compiler, or bytecode the sm rewrite cannot handle."""


@dataclass(frozen=True)
class Artifact:
    """One compiled contract for one suite."""

    name: str
    abi: tuple[Mapping[str, Any], ...]
    bytecode: bytes  # init code (deploy this, followed by constructor arguments)
    runtime: bytes  # code left at the contract's address
    suite: str
    compiler: str  # e.g. "solc 0.8.30" or "vyper 0.4.3"

    def to_json(self) -> dict[str, Any]:
        return {
            "contractName": self.name, "suite": self.suite, "compiler": self.compiler, "evmVersion": EVM_VERSION,
            "abi": list(self.abi), "bytecode": self.bytecode.hex(), "deployedBytecode": self.runtime.hex(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Artifact:
        return cls(
            name=data["contractName"], abi=tuple(data["abi"]), bytecode=bytes.fromhex(data["bytecode"]),
            runtime=bytes.fromhex(data["deployedBytecode"]), suite=data["suite"], compiler=data["compiler"],
        )


# --- the sm rewrite --------------------------------------------------------------------------------

# The system contracts' methods: any contract may call them through the interface files.
SYSTEM_SIGNATURES = (
    "setValueByKey(string,string)", "getValueByKey(string)",
    "addSealer(string,uint256)", "addObserver(string)", "remove(string)", "setWeight(string,uint256)",
    "forceAddObserver(string)", "forceRemove(string)",
    "createKVTable(string,string,string)", "set(string,string,string)", "get(string,string)",
    "sm3(bytes)", "keccak256Hash(bytes)", "sm2Verify(bytes32,bytes,bytes32,bytes32)",
)


def _abi_signatures(abi: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """(function and error signatures, event signatures) of an ABI, plus Error/Panic and system calls."""
    calls = [ERROR_SIGNATURE, PANIC_SIGNATURE, *SYSTEM_SIGNATURES]
    events = []
    for entry in abi:
        if entry.get("type") in ("function", "error"):
            calls.append(signature_of(entry))
        elif entry.get("type") == "event" and not entry.get("anonymous"):
            events.append(signature_of(entry))
    return calls, events


def _instructions(code: bytes) -> list[tuple[int, int, int]]:
    """(offset, opcode, push size) of every instruction, PUSH data skipped."""
    result, pc = [], 0
    while pc < len(code):
        op = code[pc]
        size = op - PUSH1 + 1 if PUSH1 <= op <= PUSH32 else 0
        result.append((pc, op, size))
        pc += 1 + size
    return result


def _code_end(code: bytes) -> int:
    """Where the CBOR metadata appended by solc/vyper starts (its length is in the last 2 bytes)."""
    if len(code) >= 2:
        length = int.from_bytes(code[-2:], "big")
        if 0 < length + 2 <= len(code) and code[len(code) - length - 2] in (0xA1, 0xA2, 0xA3, 0xA4, 0x84, 0x85):
            return len(code) - length - 2
    return len(code)


def _shifted_selector(data: bytes, code: bytes, shift_push: tuple[int, int, int]) -> bytes | None:
    """The selector that `PUSH data; PUSH1 shift; SHL` puts in the top 4 bytes of a word, if exactly that."""
    shift = code[shift_push[0] + 1]
    value = int.from_bytes(data, "big") << shift
    if shift == 224 or value >= 1 << 256 or value & ((1 << 224) - 1):
        return None  # the plain form (rewritten as a PUSH4), too wide, or more than 4 bytes
    return (value >> 224).to_bytes(4, "big")


def rewrite_hashes(code: bytes, suite: CryptoSuite, abi: Sequence[Mapping[str, Any]]) -> bytes:
    """The code with keccak selectors and topics replaced by the suite's (identity in standard).

    abi should list every function the code calls, not only its own: the ABIs of all contracts
    and interfaces compiled together (the system contracts' methods are always included).
    """
    if suite.name == "standard":
        return bytes(code)
    calls, events = _abi_signatures(abi)
    selectors = {keccak256(s.encode())[:4]: suite.hash(s.encode())[:4] for s in calls}
    topics = {keccak256(s.encode()): suite.hash(s.encode()) for s in events}
    # the optimiser folds shl(224, selector) into a left-aligned PUSH32
    topics.update({old + b"\x00" * 28: new + b"\x00" * 28 for old, new in selectors.items()})
    short = {int.from_bytes(old, "big"): old for old in selectors if old[0] == 0}
    out = bytearray(code)
    end = _code_end(bytes(code))
    instructions = _instructions(bytes(code[:end]))
    for position, (pc, op, size) in enumerate(instructions):
        data = bytes(code[pc + 1: pc + 1 + size])
        if size == 4 and data in selectors:
            following = instructions[position + 1][1] if position + 1 < len(instructions) else None
            # an order comparison means a binary-search dispatcher, which new selectors would break
            if following in ORDER_COMPARISONS:
                raise CompileError(
                    "the dispatcher sorts selectors (more than 4 external functions); SM3 selectors "
                    "would break it — split the contract or compile it with an SM3 compiler"
                )
            out[pc + 1: pc + 5] = selectors[data]
        elif size == 32 and data in topics:
            out[pc + 1: pc + 33] = topics[data]
        elif size and position + 2 < len(instructions) and instructions[position + 1][2] == 1 \
                and instructions[position + 2][1] == SHL and _shifted_selector(data, code, instructions[position + 1]) in selectors:
            # shl(n, v) with v a selector shifted right: cannot be rewritten in place
            raise CompileError("a selector is built by a shift (optimised code); compile without the optimiser")
        elif 0 < size < 4 and int.from_bytes(data, "big") in short:
            # a selector pushed in fewer bytes cannot be replaced in place
            raise CompileError(f"selector 0x{short[int.from_bytes(data, 'big')].hex()} has a leading zero byte; "
                               "rename the function to compile it for the sm suite")
    return bytes(out)


def for_suite(name: str, abi: Sequence[Mapping[str, Any]], bytecode: bytes, runtime: bytes,
              suite: CryptoSuite, compiler: str, known: Sequence[Mapping[str, Any]] = ()) -> Artifact:
    """An artifact for suite from keccak-compiled code (the runtime is rewritten where it sits in the init code).

    known: ABI entries of the other contracts compiled alongside (whose functions this one may call).
    """
    every = [*abi, *known]
    new_runtime = rewrite_hashes(runtime, suite, every)
    at = bytes(bytecode).find(bytes(runtime)) if runtime else -1
    if at < 0:
        new_bytecode = rewrite_hashes(bytecode, suite, every)
    else:
        head = rewrite_hashes(bytecode[:at], suite, every)
        tail = rewrite_hashes(bytecode[at + len(runtime):], suite, every) if at + len(runtime) < len(bytecode) else b""
        new_bytecode = head + new_runtime + tail
    return Artifact(name, tuple(abi), new_bytecode, new_runtime, suite.name, compiler)


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


def compile_solidity(sources: Mapping[str, str], suite: CryptoSuite) -> dict[str, Artifact]:
    """Compile Solidity sources {file name: text}; every contract with code, by name."""
    package = find_solcjs()
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "evmVersion": EVM_VERSION,
            # solc's optimiser folds and shifts constants (shl(226, sel >> 2)), hiding selectors from
            # the sm rewrite; unoptimised code keeps them as plain PUSH4s
            "optimizer": {"enabled": suite.name == "standard", "runs": 200},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }
    result = subprocess.run(
        ["node", "-e", _SOLC_SCRIPT, str(package.resolve())],
        input=json.dumps(request), capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:
        raise CompileError(f"solc-js failed: {result.stderr.strip()[-1000:]}")
    output = json.loads(result.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    compiled = [contract for contracts in output.get("contracts", {}).values() for contract in contracts.items()]
    known = [entry for _, contract in compiled for entry in contract["abi"]]  # interfaces included
    artifacts = {}
    for name, contract in compiled:
        bytecode = bytes.fromhex(contract["evm"]["bytecode"]["object"])
        if not bytecode:
            continue  # an interface or abstract contract
        runtime = bytes.fromhex(contract["evm"]["deployedBytecode"]["object"])
        artifacts[name] = for_suite(name, contract["abi"], bytecode, runtime, suite, f"solc {SOLC_VERSION}", known)
    return artifacts


# --- Vyper, in-process -------------------------------------------------------------------------------------

def compile_vyper(name: str, source: str, suite: CryptoSuite) -> Artifact:
    """Compile one Vyper contract (unoptimised in the sm suite: its linear dispatcher can be rewritten)."""
    try:
        import vyper
        from vyper.compiler.settings import OptimizationLevel, Settings
    except ImportError as exc:  # pragma: no cover - vyper is a main dependency
        raise CompileError("the vyper package is not installed") from exc
    level = OptimizationLevel.GAS if suite.name == "standard" else OptimizationLevel.NONE
    try:
        output = vyper.compile_code(
            source, output_formats=["abi", "bytecode", "bytecode_runtime"],
            settings=Settings(evm_version=EVM_VERSION, optimize=level),
        )
    except Exception as exc:  # vyper raises its own exception tree; report it as ours
        raise CompileError(f"vyper: {exc}") from exc
    bytecode = bytes.fromhex(output["bytecode"].removeprefix("0x"))
    runtime = bytes.fromhex(output["bytecode_runtime"].removeprefix("0x"))
    return for_suite(name, output["abi"], bytecode, runtime, suite, f"vyper {vyper.__version__}")


def compile_file(path: Path, suite: CryptoSuite) -> dict[str, Artifact]:
    """Compile a .sol or .vy file (a .sol file's imports are resolved next to it)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CompileError(f"cannot read {path}: {exc}") from exc
    if path.suffix == ".vy":
        return {path.stem: compile_vyper(path.stem, text, suite)}
    if path.suffix == ".sol":
        sources = {path.name: text}
        _collect_imports(path, text, sources)
        return compile_solidity(sources, suite)
    raise CompileError(f"{path}: expected a .sol or .vy file")


def _collect_imports(path: Path, text: str, sources: dict[str, str]) -> None:
    """Add the files a Solidity source imports with relative paths ("./x.sol"), recursively."""
    for target in re.findall(r'import\s+(?:[^"\']*from\s+)?["\'](\.[^"\']+)["\']', text):
        name = os.path.normpath(os.path.join(os.path.dirname(path.name), target))
        if name in sources:
            continue
        file = (path.parent / target).resolve()
        try:
            sources[name] = file.read_text()
        except OSError as exc:
            raise CompileError(f"cannot read import {target} of {path}: {exc}") from exc
        _collect_imports(file, sources[name], sources)


def save(artifact: Artifact, directory: Path, abi_and_bin: bool = True) -> Path:
    """Write <name>.json (abi, bytecode, runtime), plus the .abi and .bin files FISCO tools expect."""
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
