"""System tables: the chain's configuration and its consensus node list, kept as ordinary state rows.

FISCO BCOS keeps governance data in tables (``s_config``, ``s_consensus``) so that it is changed by
transactions (through the SystemConfig 0x1000 and Consensus 0x1003 system contracts) and agreed on
like any other state. Every row records the block number from which it is *enabled*: a change
written while executing block N is stamped N + 1, so it takes effect at the next block boundary and
every node switches at exactly the same height.

Rows (values are RLP), one table each, as in FISCO BCOS 3.x:

* ``s_config``    key = config key (UTF-8), value = [value (UTF-8), enable_number]
* ``s_consensus`` key = b"key" (a single row), value = [[node id, type, weight, enable_number], ...]
  with type b"sealer" or b"observer"; a removed node is simply absent from the list.

The consensus engine reads the list from committed state after each block, so every entry written
up to block N (stamped enable_number <= N + 1) is in force for block N + 1; an entry stamped for a
later height is ignored until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from chain.errors import LedgerError
from chain.ledger import codec
from chain.ledger.state import StateReader

CONFIG_TABLE = "s_config"
CONSENSUS_TABLE = "s_consensus"
CONSENSUS_KEY = b"key"

SEALER = "sealer"
OBSERVER = "observer"
NODE_TYPES = (SEALER, OBSERVER)

TX_COUNT_LIMIT = "tx_count_limit"
TX_GAS_LIMIT = "tx_gas_limit"
BLOCK_GAS_LIMIT = "block_gas_limit"
LEADER_PERIOD = "consensus_leader_period"
AUTH_CHECK_STATUS = "auth_check_status"
# rPBFT (chain.consensus.pbft.rpbft), FISCO BCOS 3.x's keys and defaults (2.x: rpbft_epoch_*).
FEATURE_RPBFT = "feature_rpbft"
RPBFT_EPOCH_SEALER_NUM = "feature_rpbft_epoch_sealer_num"
RPBFT_EPOCH_BLOCK_NUM = "feature_rpbft_epoch_block_num"

DEFAULT_CONFIG: dict[str, str] = {
    TX_COUNT_LIMIT: "1000",
    TX_GAS_LIMIT: "300000000",  # FISCO BCOS 2.x default
    # Ours (FISCO BCOS has none): the most gas the transactions of one block may claim together,
    # each counted as what the executor would grant it, min(gasLimit, tx_gas_limit). The default is
    # tx_count_limit x tx_gas_limit, so by default the count binds first and nothing changes; a chain
    # that wants a bound on how long a block can execute sets it (docs/execution.md has the figures).
    BLOCK_GAS_LIMIT: "300000000000",
    LEADER_PERIOD: "1",
    AUTH_CHECK_STATUS: "0",
    FEATURE_RPBFT: "0",
    RPBFT_EPOCH_SEALER_NUM: "4",
    RPBFT_EPOCH_BLOCK_NUM: "1000",
}


# Keys added after chains were made write no genesis row while they keep their default (the
# default is read in its place), so adding one does not change the genesis hash of existing chains.
ROW_ONLY_WHEN_SET = frozenset({BLOCK_GAS_LIMIT, FEATURE_RPBFT, RPBFT_EPOCH_SEALER_NUM, RPBFT_EPOCH_BLOCK_NUM})


@dataclass(frozen=True)
class ConsensusNode:
    node_id: bytes  # 64-byte public key of the node's consensus key
    type: str  # SEALER or OBSERVER
    weight: int
    enable_number: int


@dataclass(frozen=True)
class ConsensusNodes:
    """The node list in force at one block height, sealers first, each group sorted by node id."""

    sealers: tuple[ConsensusNode, ...]
    observers: tuple[ConsensusNode, ...]

    @property
    def sealer_ids(self) -> tuple[bytes, ...]:
        return tuple(node.node_id for node in self.sealers)

    @property
    def weights(self) -> tuple[int, ...]:
        return tuple(node.weight for node in self.sealers)

    def index_of(self, node_id: bytes) -> int | None:
        """A sealer's index (its position in the sorted sealer list), or None if it is not a sealer."""
        for index, node in enumerate(self.sealers):
            if node.node_id == node_id:
                return index
        return None


# --- encoding of the rows -------------------------------------------------------------------

def encode_config_row(value: str, enable_number: int) -> bytes:
    return codec.encode([value.encode(), enable_number])


@lru_cache(maxsize=64)
def decode_config_row(raw: bytes) -> tuple[str, int]:
    """(value, enable_number) of an s_config row (cached: the replica reads ~20 of them per block, on every node)."""
    items = codec.decode_list(raw, "s_config row", 2)
    return codec.as_bytes(items[0], "s_config.value").decode(), codec.as_int(items[1], "s_config.enable", 64)


def encode_node_list(nodes: Iterable[ConsensusNode]) -> bytes:
    ordered = sorted(nodes, key=lambda n: n.node_id)  # one pass over nodes: a generator is fine too
    for node in ordered:
        if node.type not in NODE_TYPES:
            raise LedgerError(f"unknown node type {node.type!r}")
    return codec.encode([[n.node_id, n.type.encode(), n.weight, n.enable_number] for n in ordered])


@lru_cache(maxsize=16)
def decode_node_list(raw: bytes) -> tuple[ConsensusNode, ...]:
    """The entries of an s_consensus row (cached: every block reads it again, the same bytes, on every node)."""
    nodes = []
    for entry in codec.decode_list(raw, "s_consensus row"):
        items = codec.as_list(entry, "s_consensus entry [node id, type, weight, enable_number]", 4)
        node_type = codec.as_bytes(items[1], "s_consensus.type").decode(errors="replace")
        if node_type not in NODE_TYPES:
            raise LedgerError(f"s_consensus: unknown node type {node_type!r}")
        nodes.append(ConsensusNode(
            node_id=codec.as_bytes(items[0], "s_consensus.nodeId", size=64),
            type=node_type,
            weight=codec.as_int(items[2], "s_consensus.weight", 64),
            enable_number=codec.as_int(items[3], "s_consensus.enable", 64),
        ))
    return tuple(nodes)


# --- reading ----------------------------------------------------------------------------------

def config_entry(state: StateReader, key: str, block_number: int) -> tuple[str, int]:
    """(value, enable_number) of a config key in force at block_number; (default, 0) when the key
    was never set or its row is stamped for a later block."""
    raw = state.get(CONFIG_TABLE, key.encode())
    if raw is not None:
        value, enable_number = decode_config_row(raw)
        if enable_number <= block_number:
            return value, enable_number
    if key not in DEFAULT_CONFIG:
        raise LedgerError(f"unknown system config key {key!r}")
    return DEFAULT_CONFIG[key], 0


def get_config(state: StateReader, key: str, block_number: int) -> str:
    """The value of a config key in force at block_number (the default when never set)."""
    return config_entry(state, key, block_number)[0]


def get_config_int(state: StateReader, key: str, block_number: int) -> int:
    return int(get_config(state, key, block_number))


def tx_gas_limit(state: StateReader, block_number: int) -> int:
    """The most gas one transaction of block `block_number` may use: what the pool admits and the
    executor grants."""
    return get_config_int(state, TX_GAS_LIMIT, block_number)


def block_gas_limit(state: StateReader, block_number: int) -> int:
    """The most gas the transactions of block `block_number` may claim together (see ``block_gas``)."""
    return get_config_int(state, BLOCK_GAS_LIMIT, block_number)


def claimed_gas(tx_gas: int, tx_gas_cap: int) -> int:
    """The gas one transaction claims from its block: what the executor would grant it at most."""
    return min(tx_gas, tx_gas_cap)


def block_gas(tx_gas_limits: Iterable[int], tx_gas_cap: int) -> int:
    """The gas a block's transactions claim together, before any of them runs.

    Counted on what each may use, not on what it will use, because a PBFT proposal is voted on
    before it is executed: the bound must be checkable by every replica from the proposal alone.
    """
    return sum(claimed_gas(gas, tx_gas_cap) for gas in tx_gas_limits)


def over_block_gas_limit(tx_gas_limits: Sequence[int], tx_gas_cap: int, limit: int) -> bool:
    """True if a block of transactions with these gas limits claims more than `limit`.

    A block of one transaction is never over: that transaction is bounded by tx_gas_limit already,
    and refusing it would leave it in every pool for ever when block_gas_limit is set below
    tx_gas_limit.
    """
    return len(tx_gas_limits) > 1 and block_gas(tx_gas_limits, tx_gas_cap) > limit


def all_consensus_nodes(state: StateReader) -> tuple[ConsensusNode, ...]:
    """Every entry of the node list, in force or not (what the Consensus contract edits)."""
    raw = state.get(CONSENSUS_TABLE, CONSENSUS_KEY)
    return decode_node_list(raw) if raw is not None else ()


def consensus_nodes(state: StateReader, block_number: int) -> ConsensusNodes:
    """The node list in force at block_number."""
    active = sorted(
        (n for n in all_consensus_nodes(state) if n.enable_number <= block_number), key=lambda n: n.node_id
    )
    return ConsensusNodes(
        sealers=tuple(n for n in active if n.type == SEALER),
        observers=tuple(n for n in active if n.type == OBSERVER),
    )
