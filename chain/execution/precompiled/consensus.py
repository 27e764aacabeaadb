"""Consensus (0x1003): who seals blocks and with what weight, changed by governance transactions.

    addSealer(string nodeId, uint256 weight) returns (int32)   a new node or an observer becomes a sealer
    addObserver(string nodeId) returns (int32)                 a new node or a sealer becomes an observer
    remove(string nodeId) returns (int32)                      the node leaves the list
    setWeight(string nodeId, uint256 weight) returns (int32)   a sealer's vote weight
    forceAddObserver(string nodeId) / forceRemove(string nodeId)

Node ids are hex strings of the 64-byte public key (with or without 0x), as FISCO BCOS writes them.
All are admin-only and return 0. Every entry written while executing block N is stamped N + 1, so
the new list is in force from the next block on every node (``chain.ledger.system``).

Safety rule: PBFT tolerates f faults only with n >= 3f + 1 sealers, so a change that would leave
fewer sealers than before *and* fewer than 4 is refused unless made with the ``force``
variant, which says "I know this chain will tolerate no fault". The last sealer can never go:
a chain without sealers can never produce another block, not even one to undo the mistake.
"""

from __future__ import annotations

from chain.errors import CryptoError
from chain.execution import gas
from chain.execution.precompiled.base import CallContext, SystemContract, method, system_address
from chain.ledger import system
from chain.ledger.system import ConsensusNode

MIN_SAFE_SEALERS = 4
MAX_WEIGHT = (1 << 63) - 1


class ConsensusContract(SystemContract):
    address = system_address(0x1003)
    name = "Consensus"

    # --- helpers ---

    def _node_id(self, call: CallContext, text: str) -> bytes:
        raw = text[2:] if text[:2].lower() == "0x" else text
        # 64 bytes of public key, hex encoded
        if len(raw) != 128:
            raise call.fail(f"node id must be 128 hex digits (a 64-byte public key), got {len(raw)} characters")
        try:
            node_id = bytes.fromhex(raw)
        except ValueError:
            raise call.fail("node id is not hexadecimal") from None
        # a node id is a public key of the chain's suite (consensus messages are verified with it)
        try:
            call.suite.check_public_key(node_id)
        except CryptoError:
            raise call.fail("node id is not a public key of this chain's crypto suite") from None
        return node_id

    def _weight(self, call: CallContext, weight: int) -> int:
        # a sealer without weight could never help reach a quorum
        if not 1 <= weight <= MAX_WEIGHT:
            raise call.fail(f"weight must be between 1 and {MAX_WEIGHT}, got {weight}")
        return weight

    def _nodes(self, call: CallContext) -> dict[bytes, ConsensusNode]:
        return {node.node_id: node for node in system.all_consensus_nodes(call.journal)}

    def _save(self, call: CallContext, nodes: dict[bytes, ConsensusNode], force: bool) -> tuple[int]:
        before = sum(1 for n in system.all_consensus_nodes(call.journal) if n.type == system.SEALER)
        after = sum(1 for n in nodes.values() if n.type == system.SEALER)
        # a chain without a sealer can never seal again
        if after == 0:
            raise call.fail("refused: this would remove the last sealer")
        # fewer than 4 sealers tolerate no fault: only on purpose (force variant)
        if after < before and after < MIN_SAFE_SEALERS and not force:
            raise call.fail(
                f"refused: {after} sealers cannot tolerate a faulty one (PBFT needs 3f+1 >= 4); "
                "use the force variant to do it anyway"
            )
        call.journal.set(system.CONSENSUS_TABLE, system.CONSENSUS_KEY, system.encode_node_list(nodes.values()))
        return (0,)

    def _entry(self, call: CallContext, node_id: bytes, kind: str, weight: int) -> ConsensusNode:
        return ConsensusNode(node_id=node_id, type=kind, weight=weight, enable_number=call.block_number + 1)

    # --- methods ---

    @method("addSealer(string,uint256)", ("int32",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def add_sealer(self, call: CallContext, node: str, weight: int) -> tuple[int]:
        call.require_admin()
        node_id, weight = self._node_id(call, node), self._weight(call, weight)
        nodes = self._nodes(call)
        # an existing sealer changes weight with setWeight
        if node_id in nodes and nodes[node_id].type == system.SEALER:
            raise call.fail("node is already a sealer (use setWeight to change its weight)")
        nodes[node_id] = self._entry(call, node_id, system.SEALER, weight)
        return self._save(call, nodes, force=False)

    def _add_observer(self, call: CallContext, node: str, force: bool) -> tuple[int]:
        call.require_admin()
        node_id = self._node_id(call, node)
        nodes = self._nodes(call)
        # nothing to do is an error, so a script learns its view of the list is stale
        if node_id in nodes and nodes[node_id].type == system.OBSERVER:
            raise call.fail("node is already an observer")
        nodes[node_id] = self._entry(call, node_id, system.OBSERVER, 0)
        return self._save(call, nodes, force)

    @method("addObserver(string)", ("int32",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def add_observer(self, call: CallContext, node: str) -> tuple[int]:
        return self._add_observer(call, node, force=False)

    @method("forceAddObserver(string)", ("int32",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def force_add_observer(self, call: CallContext, node: str) -> tuple[int]:
        return self._add_observer(call, node, force=True)

    def _remove(self, call: CallContext, node: str, force: bool) -> tuple[int]:
        call.require_admin()
        node_id = self._node_id(call, node)
        nodes = self._nodes(call)
        # only a listed node can be removed
        if node_id not in nodes:
            raise call.fail("node is not in the consensus node list")
        del nodes[node_id]
        return self._save(call, nodes, force)

    @method("remove(string)", ("int32",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def remove(self, call: CallContext, node: str) -> tuple[int]:
        return self._remove(call, node, force=False)

    @method("forceRemove(string)", ("int32",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def force_remove(self, call: CallContext, node: str) -> tuple[int]:
        return self._remove(call, node, force=True)

    @method("setWeight(string,uint256)", ("int32",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def set_weight(self, call: CallContext, node: str, weight: int) -> tuple[int]:
        call.require_admin()
        node_id, weight = self._node_id(call, node), self._weight(call, weight)
        nodes = self._nodes(call)
        # only sealers vote, so only sealers have a weight
        if node_id not in nodes or nodes[node_id].type != system.SEALER:
            raise call.fail("node is not a sealer")
        nodes[node_id] = self._entry(call, node_id, system.SEALER, weight)
        return self._save(call, nodes, force=False)

