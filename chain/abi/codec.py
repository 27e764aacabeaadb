"""The contract ABI, per crypto suite: selectors, event topics, call encoding, output and log decoding.

The ABI's *encoding* (``eth-abi``) is the same on every chain; what depends on the suite is the
hash behind names. A function selector is the first 4 bytes of hash("name(type,...)") and an event
topic the full hash of "Name(type,...)" — Keccak-256 in the standard suite, SM3 in the sm suite,
exactly as FISCO BCOS clients compute them. A revert reason is ABI-encoded ``Error(string)``,
whose selector follows the same rule (0x08c379a0 with Keccak-256, 0xc703cb12 with SM3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import eth_abi
from eth_abi.exceptions import DecodingError, EncodingError

from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError

ERROR_SIGNATURE = "Error(string)"
PANIC_SIGNATURE = "Panic(uint256)"


class ABIError(ChainError):
    """Call data or output that does not fit the ABI (wrong arguments, undecodable bytes)."""


# --- names and hashes ------------------------------------------------------------------------------

def canonical_type(param: Mapping[str, Any]) -> str:
    """The canonical type of an ABI parameter; tuples spelled out as "(t1,t2)" (with any array suffix)."""
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param.get("components", ()))
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def signature_of(entry: Mapping[str, Any]) -> str:
    """"name(type,...)" of a function, event or error ABI entry."""
    return f"{entry['name']}({','.join(canonical_type(p) for p in entry.get('inputs', ()))})"


def selector(suite: CryptoSuite, signature: str) -> bytes:
    """First 4 bytes of the suite's hash of a function signature."""
    return suite.hash(signature.encode())[:4]


def event_topic(suite: CryptoSuite, signature: str) -> bytes:
    """The topic 0 of a (non-anonymous) event: the suite's hash of its signature."""
    return suite.hash(signature.encode())


def _types(params: Iterable[Mapping[str, Any]]) -> list[str]:
    return [canonical_type(p) for p in params]


def split_signature(signature: str) -> tuple[str, list[str]]:
    """"f(uint256,(bool,string))" -> ("f", ["uint256", "(bool,string)"])."""
    name, _, rest = signature.partition("(")
    if not rest.endswith(")"):
        raise ABIError(f"not a function signature: {signature!r}")
    body, types, depth, current = rest[:-1], [], 0, ""
    for char in body:
        if char == "," and depth == 0:
            types.append(current)
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    if current:
        types.append(current)
    return name, types


def encode_args(types: Sequence[str], args: Sequence[Any]) -> bytes:
    if len(types) != len(args):
        raise ABIError(f"expected {len(types)} arguments {list(types)}, got {len(args)}")
    try:
        return eth_abi.encode(list(types), list(args))
    except (EncodingError, TypeError, ValueError, OverflowError) as exc:
        raise ABIError(f"cannot encode {list(args)!r} as {list(types)}: {exc}") from exc


def decode_args(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    try:
        return tuple(eth_abi.decode(list(types), bytes(data)))
    except (DecodingError, TypeError, ValueError, OverflowError) as exc:
        raise ABIError(f"cannot decode {len(data)} bytes as {list(types)}: {exc}") from exc


def encode_call(suite: CryptoSuite, signature: str, *args: Any) -> bytes:
    """Call data for a function given by its signature, e.g. encode_call(s, "set(string)", "hi")."""
    _, types = split_signature(signature)
    return selector(suite, signature) + encode_args(types, args)


# --- revert reasons --------------------------------------------------------------------------------

def encode_error(suite: CryptoSuite, message: str) -> bytes:
    """Revert data for a reason string: Error(string) with the suite's selector."""
    return selector(suite, ERROR_SIGNATURE) + eth_abi.encode(["string"], [message])


def decode_revert_reason(suite: CryptoSuite, data: bytes) -> str | None:
    """The reason in revert data (Error(string) or Panic(uint256)), or None if there is none.

    In the sm suite both the SM3 selector and Keccak's 0x08c379a0 are accepted, because contracts
    compiled by a stock compiler emit the latter.
    """
    data = bytes(data)
    errors = {selector(suite, ERROR_SIGNATURE), bytes.fromhex("08c379a0")}
    panics = {selector(suite, PANIC_SIGNATURE), bytes.fromhex("4e487b71")}
    try:
        if data[:4] in errors:
            return str(eth_abi.decode(["string"], data[4:])[0])
        if data[:4] in panics:
            return f"panic 0x{eth_abi.decode(['uint256'], data[4:])[0]:02x}"
    except (DecodingError, UnicodeDecodeError, ValueError):
        return None
    return None


# --- a contract's ABI --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Function:
    name: str
    signature: str
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    constant: bool  # view / pure: query with `call`, no transaction needed


@dataclass(frozen=True)
class Event:
    name: str
    signature: str
    topic: bytes
    anonymous: bool
    inputs: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class DecodedEvent:
    name: str
    address: bytes
    args: Mapping[str, Any]  # indexed dynamic values appear as their 32-byte topic (only the hash is logged)


class ContractABI:
    """One contract's functions and events under one suite's hashing."""

    def __init__(self, suite: CryptoSuite, abi: Sequence[Mapping[str, Any]] | str) -> None:
        entries = json.loads(abi) if isinstance(abi, str) else abi
        self.suite = suite
        self.entries: tuple[Mapping[str, Any], ...] = tuple(entries)
        self.functions: dict[str, Function] = {}
        self.events: dict[bytes, Event] = {}
        self.errors: dict[bytes, tuple[str, tuple[Mapping[str, Any], ...]]] = {}  # selector -> (name, inputs)
        self.constructor_inputs: tuple[str, ...] = ()
        for entry in self.entries:
            kind = entry.get("type", "function")
            if kind == "function":
                signature = signature_of(entry)
                function = Function(
                    name=entry["name"], signature=signature, selector=selector(suite, signature),
                    inputs=tuple(_types(entry.get("inputs", ()))), outputs=tuple(_types(entry.get("outputs", ()))),
                    constant=entry.get("stateMutability") in ("view", "pure") or bool(entry.get("constant")),
                )
                self.functions.setdefault(function.name, function)  # first overload wins by name
                self.functions[signature] = function  # every overload by full signature
            elif kind == "event":
                signature = signature_of(entry)
                event = Event(entry["name"], signature, event_topic(suite, signature),
                              bool(entry.get("anonymous")), tuple(entry.get("inputs", ())))
                self.events[event.topic] = event
            elif kind == "error":
                self.errors[selector(suite, signature_of(entry))] = (entry["name"], tuple(entry.get("inputs", ())))
            elif kind == "constructor":
                self.constructor_inputs = tuple(_types(entry.get("inputs", ())))

    def function(self, name: str) -> Function:
        """A function by name or by full signature."""
        if name not in self.functions:
            raise ABIError(f"the contract has no function {name!r}")
        return self.functions[name]

    def encode_call(self, name: str, *args: Any) -> bytes:
        function = self.function(name)
        return function.selector + encode_args(function.inputs, args)

    def decode_output(self, name: str, output: bytes) -> tuple[Any, ...]:
        return decode_args(self.function(name).outputs, output)

    def encode_deploy(self, bytecode: bytes, *args: Any) -> bytes:
        """Init code followed by the ABI-encoded constructor arguments."""
        return bytes(bytecode) + encode_args(self.constructor_inputs, args)

    def decode_error(self, data: bytes) -> tuple[str, dict[str, Any]] | None:
        """(name, arguments) of a custom error in revert data, or None if this ABI declares no such error."""
        data = bytes(data)
        if data[:4] not in self.errors:
            return None
        name, inputs = self.errors[data[:4]]
        try:
            values = decode_args(_types(inputs), data[4:])
        except ABIError:
            return None
        return name, {param["name"]: value for param, value in zip(inputs, values)}

    def decode_log(self, address: bytes, topics: Sequence[bytes], data: bytes) -> DecodedEvent | None:
        """The event a log records, or None if this ABI does not declare it (or it does not decode)."""
        if not topics or topics[0] not in self.events:
            return None
        event = self.events[topics[0]]
        indexed = [p for p in event.inputs if p.get("indexed")]
        plain = [p for p in event.inputs if not p.get("indexed")]
        if len(indexed) != len(topics) - 1:
            return None
        args: dict[str, Any] = {}
        for param, topic in zip(indexed, topics[1:]):
            kind = canonical_type(param)
            is_dynamic = kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")
            args[param["name"]] = topic if is_dynamic else decode_args([kind], topic)[0]
        try:
            values = decode_args(_types(plain), data)
        except ABIError:
            return None
        args.update({param["name"]: value for param, value in zip(plain, values)})
        return DecodedEvent(event.name, bytes(address), args)

    def decode_logs(self, logs: Iterable[Any]) -> list[DecodedEvent]:
        """Decode receipt logs (objects with address, topics, data), skipping foreign ones."""
        decoded = []
        for log in logs:
            event = self.decode_log(log.address, log.topics, log.data)
            if event is not None:
                decoded.append(event)
        return decoded
