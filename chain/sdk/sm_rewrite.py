"""Turn solc's Keccak-hashed bytecode into what an SM3 solc emits: selectors, topics, ids, dispatcher.

Stock solc hashes names with Keccak-256. On an sm chain clients hash them with SM3, so every value
the compiler derived from a name is replaced by the SM3 one (the `HashMap` below says which):

* function selectors of every contract, interface and library compiled together (solc's
  ``methodIdentifiers``, so library signatures with ``storage`` parameters are right), custom
  error selectors, ``Error(string)``/``Panic(uint256)`` and the system contracts' methods;
* ERC-165 interface ids: the XOR of the selectors an interface *declares* (the AST tells which);
* event topics, and ``keccak256("literal")`` constants the compiler folded (the KECCAK256 opcode
  is SM3 on an sm chain, so a folded constant must be too; ``bytes4(keccak256("f()"))`` likewise);

in the forms solc writes them: ``PUSH4 sel``, ``PUSH32 sel<<224`` (a folded ``shl(224, sel)``),
``PUSH4 x PUSH1 s SHL`` with ``x << s == sel << 224`` (rewritten as ``PUSH4 sel' PUSH1 0xe0 SHL``,
same length) and ``PUSH32 topic``. Instructions are decoded one by one and no length changes, so
every offset stays valid. The dispatcher is rebuilt, not patched (`sm_dispatch`). What cannot be
rewritten in place is refused with its name: a selector pushed in fewer than 4 bytes (shifted or with
a leading zero byte), a topic whose Keccak hash starts with a zero byte (solc pushes it in 31 bytes),
a selector compared by order outside the dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from chain.abi.codec import ERROR_SIGNATURE, PANIC_SIGNATURE, signature_of
from chain.crypto.hashing import keccak256
from chain.crypto.suite import CryptoSuite
from chain.errors import ChainError
from chain.sdk.evm_code import LT, GT, SGT, SHL, SLT, PUSH1, decode, push
from chain.sdk.sm_dispatch import DispatchError, find_dispatcher, rebuild

ORDER_COMPARISONS = {LT, GT, SLT, SGT}

# The system contracts' methods: any contract may call them through the interface files.
SYSTEM_SIGNATURES = (
    "setValueByKey(string,string)", "getValueByKey(string)",
    "addSealer(string,uint256)", "addObserver(string)", "remove(string)", "setWeight(string,uint256)",
    "forceAddObserver(string)", "forceRemove(string)",
    "createKVTable(string,string,string)", "set(string,string,string)", "get(string,string)",
    "sm3(bytes)", "keccak256Hash(bytes)", "sm2Verify(bytes32,bytes,bytes32,bytes32)",
    "curve25519VRFVerify(bytes,bytes,bytes)",
    # auth chains: CommitteeManager 0x10001 (with its Committee and ProposalManager views)
    "createUpdateGovernorProposal(address,uint32,uint256)", "createSetRateProposal(uint8,uint8,uint256)",
    "createSetDeployAuthTypeProposal(uint8,uint256)", "createModifyDeployAuthProposal(address,bool,uint256)",
    "createResetAdminProposal(address,address,uint256)", "createSetSysConfigProposal(string,string,uint256)",
    "createSetConsensusWeightProposal(string,uint32,bool,uint256)", "createRmNodeProposal(string,uint256)",
    "voteProposal(uint256,bool)", "revokeProposal(uint256)", "refreshProposalStatus(uint256)",
    "_committee()", "_proposalMgr()", "isGovernor(address)", "getWeight(address)", "getCommitteeInfo()",
    "_participatesRate()", "_winRate()", "proposalLifetime()", "_proposalCount()", "getProposalInfo(uint256)",
    "getProposalStatus(uint256)", "getProposalType(uint256)", "getIdByTypeAndResourceId(uint8,address)",
    # ContractAuth 0x1005 and AccountManager 0x10003
    "resetAdmin(address,address)", "setDeployAuthType(uint8)", "openDeployAuth(address)", "closeDeployAuth(address)",
    "setMethodAuthType(address,bytes4,uint8)", "openMethodAuth(address,bytes4,address)",
    "closeMethodAuth(address,bytes4,address)", "setContractStatus(address,bool)", "getAdmin(address)",
    "checkMethodAuth(address,bytes4,address)", "contractAvailable(address)", "deployType()", "hasDeployAuth(address)",
    "setAccountStatus(address,uint8)", "getAccountStatus(address)",
)


class RewriteError(ChainError):
    """Bytecode the sm rewrite cannot turn into SM3 form soundly (the message names the construct)."""


@dataclass
class HashMap:
    """Keccak-derived constants -> their SM3 counterparts, with a name for each (for messages)."""

    selectors: dict[bytes, bytes] = field(default_factory=dict)  # 4 bytes -> 4 bytes
    words: dict[bytes, bytes] = field(default_factory=dict)  # 32 bytes -> 32 bytes
    names: dict[bytes, str] = field(default_factory=dict)  # old selector or word -> what it is

    def add_selector(self, old: bytes, new: bytes, name: str) -> None:
        self.selectors.setdefault(old, new)
        self.names.setdefault(old, name)
        self.add_word(old + bytes(28), new + bytes(28), name)

    def add_word(self, old: bytes, new: bytes, name: str) -> None:
        self.words.setdefault(old, new)
        self.names.setdefault(old, name)

    def add_signature(self, suite: CryptoSuite, signature: str) -> None:
        self.add_selector(keccak256(signature.encode())[:4], suite.hash(signature.encode())[:4], signature)

    def add_event(self, suite: CryptoSuite, signature: str) -> None:
        self.add_word(keccak256(signature.encode()), suite.hash(signature.encode()), f"event {signature}")

    def add_literal_hash(self, suite: CryptoSuite, data: bytes) -> None:
        """keccak256 of a literal folded by the compiler (and its bytes4 prefix)."""
        name = f"keccak256({data[:40]!r})"
        self.add_word(keccak256(data), suite.hash(data), name)
        self.add_selector(keccak256(data)[:4], suite.hash(data)[:4], name)

    def add_interface(self, suite: CryptoSuite, name: str, signatures: Iterable[str]) -> None:
        """An ERC-165 interface id: XOR of the selectors the interface declares."""
        old, new = 0, 0
        for signature in signatures:
            old ^= int.from_bytes(keccak256(signature.encode())[:4], "big")
            new ^= int.from_bytes(suite.hash(signature.encode())[:4], "big")
        if old:
            self.add_selector(old.to_bytes(4, "big"), new.to_bytes(4, "big"), f"interface id of {name}")


def hash_map(suite: CryptoSuite, abis: Iterable[Sequence[Mapping[str, Any]]],
             signatures: Iterable[str] = ()) -> HashMap:
    """The map for code compiled with these ABIs (and extra function signatures, e.g. solc's methodIdentifiers)."""
    result = HashMap()
    for signature in (*signatures, ERROR_SIGNATURE, PANIC_SIGNATURE, *SYSTEM_SIGNATURES):
        result.add_signature(suite, signature)
    for abi in abis:
        for entry in abi:
            if entry.get("type") in ("function", "error"):
                result.add_signature(suite, signature_of(entry))
            elif entry.get("type") == "event" and not entry.get("anonymous"):
                result.add_event(suite, signature_of(entry))
    return result


def _shifted(ins: list[Any], position: int) -> tuple[bytes, int] | None:
    """(left-aligned word, push width) if `PUSHk x PUSH1 s SHL` at position builds a word x << s."""
    if position + 2 >= len(ins) or not ins[position].is_push or ins[position + 1].op != PUSH1 \
            or ins[position + 2].op != SHL:
        return None
    value = ins[position].value << ins[position + 1].value
    if value >= 1 << 256:
        return None
    return value.to_bytes(32, "big"), len(ins[position].data)


def rewrite_constants(code: bytes, hashes: HashMap, skip: Sequence[tuple[int, int]] = (),
                      metadata: bool = True) -> bytes:
    """code with every Keccak-derived constant replaced (skip: byte ranges left as they are — the
    dispatcher, other contracts' code embedded for `new`).

    metadata: the code may end with solc's CBOR metadata (false for a slice of init code).
    """
    out = bytearray(code)
    ins = decode(bytes(code), metadata)
    short = {int.from_bytes(old, "big"): old for old in hashes.selectors if old[0] == 0}
    short_words = {int.from_bytes(old, "big"): old for old in hashes.words if old[0] == 0}
    for position, instruction in enumerate(ins):
        pc, size, data = instruction.pc, len(instruction.data), instruction.data
        if any(a <= pc < b for a, b in skip):
            continue
        shifted = _shifted(ins, position)
        if shifted is not None and shifted[0] in hashes.words and ins[position + 1].value != 224:
            word, width = shifted
            if width != 4:
                raise RewriteError(f"{hashes.names[word]}: its selector is built by a shift from {width} bytes "
                                   f"at 0x{pc:x}; there is no room for the SM3 one")
            out[pc: pc + 8] = push(int.from_bytes(hashes.words[word][:4], "big"), 4) + bytes([PUSH1, 0xE0, SHL])
        elif size == 4 and data in hashes.selectors:
            following = ins[position + 1].op if position + 1 < len(ins) else None
            if following in ORDER_COMPARISONS:
                raise RewriteError(f"{hashes.names[data]}: its selector is compared by order at 0x{pc:x} outside "
                                   "the dispatcher; SM3 selectors would break that order")
            out[pc + 1: pc + 5] = hashes.selectors[data]
        elif size == 32 and data in hashes.words:
            out[pc + 1: pc + 33] = hashes.words[data]
        elif 4 < size < 32 and instruction.value in short_words:
            old = short_words[instruction.value]
            raise RewriteError(f"{hashes.names[old]}: its Keccak hash 0x{old.hex()} starts with a zero byte and is "
                               f"pushed in {size} bytes at 0x{pc:x}; there is no room for the SM3 one — rename it")
        elif 0 < size < 4 and instruction.value in short:
            old = short[instruction.value]
            raise RewriteError(f"{hashes.names[old]}: selector 0x{old.hex()} has a leading zero byte and is pushed "
                               f"in {size} bytes at 0x{pc:x}; rename it to compile it for the sm suite")
    return bytes(out)


def _embedded(code: bytes, others: Mapping[bytes, bytes]) -> list[tuple[int, int, bytes]]:
    """(start, end, replacement) of each other contract's original code found in code (`new C()` carries C's init code)."""
    found = []
    for old, new in others.items():
        at = code.find(old)
        while at >= 0 and old:
            found.append((at, at + len(old), new))
            at = code.find(old, at + len(old))
    return sorted(found)


def _paste(code: bytes, pieces: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(code)
    for start, end, new in pieces:
        out[start:end] = new  # the rewrite keeps lengths: same size
    return bytes(out)


def rewrite_runtime(runtime: bytes, hashes: HashMap, own: Mapping[bytes, bytes],
                    others: Mapping[bytes, bytes] | None = None) -> tuple[bytes, tuple[int, int] | None]:
    """(sm runtime, the dispatcher's byte range) — own: this contract's function selectors {keccak: sm3};
    others: {original code: sm code} of the contracts compiled alongside, already rewritten."""
    pieces = _embedded(bytes(runtime), others or {})
    foreign = [(a, b) for a, b, _ in pieces]
    try:
        dispatcher = find_dispatcher(bytes(runtime), foreign)
        span = (dispatcher.start, dispatcher.end) if dispatcher else None
        out = bytearray(rewrite_constants(runtime, hashes, foreign + ([span] if span else [])))
        if dispatcher is not None:
            table = {int.from_bytes(k, "big"): int.from_bytes(v, "big") for k, v in own.items()}
            out[dispatcher.start: dispatcher.end] = rebuild(dispatcher, table)
    except DispatchError as exc:
        raise RewriteError(str(exc)) from exc
    return _paste(bytes(out), pieces), span


def rewrite_init(bytecode: bytes, runtime: bytes, new_runtime: bytes, hashes: HashMap,
                 others: Mapping[bytes, bytes] | None = None) -> bytes:
    """The init code with its own constants rewritten and the runtime it carries replaced by new_runtime."""
    def part(code: bytes, metadata: bool) -> bytes:
        pieces = _embedded(code, others or {})
        return _paste(rewrite_constants(code, hashes, [(a, b) for a, b, _ in pieces], metadata), pieces)

    at = bytes(bytecode).find(bytes(runtime)) if runtime else -1
    if at < 0:
        return part(bytes(bytecode), True)
    rest = bytes(bytecode[at + len(runtime):])
    return part(bytes(bytecode[:at]), False) + new_runtime + (part(rest, False) if rest else b"")
