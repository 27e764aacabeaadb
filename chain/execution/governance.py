"""Ready-made system contract transactions: what an admin sends to change the chain.

The consensus engine, the CLI and lessons build these instead of hand-encoding call data. Each
function returns an unsigned transaction; sign it with ``chain.ledger.transaction.sign_transaction``
using an admin key (an ``s_admin`` account), or the receipt will say PERMISSION_DENIED. On a chain
built with ``--auth`` a committee governs instead: a governor signs the proposal and vote
transactions at the end of this module.
"""

from __future__ import annotations

from chain.abi.codec import encode_call
from chain.crypto.suite import CryptoSuite
from chain.execution.precompiled import (
    ACCOUNT_MANAGER_ADDRESS, COMMITTEE_MANAGER_ADDRESS, CONSENSUS_ADDRESS, SYSTEM_CONFIG_ADDRESS,
)
from chain.ledger.transaction import Transaction, new_transaction


def node_id_text(node_id: bytes) -> str:
    """A node id as the Consensus contract takes it: 128 hex digits."""
    return node_id.hex()


def _tx(to: bytes, data: bytes, block_limit: int, chain_id: int, group_id: int, nonce: int | None) -> Transaction:
    return new_transaction(to=to, data=data, block_limit=block_limit, chain_id=chain_id, group_id=group_id, nonce=nonce)


def add_sealer_tx(suite: CryptoSuite, node_id: bytes, weight: int, *, block_limit: int,
                  chain_id: int = 1, group_id: int = 1, nonce: int | None = None) -> Transaction:
    """Consensus.addSealer(nodeId, weight): node_id joins the sealers from the block after the one holding this tx."""
    data = encode_call(suite, "addSealer(string,uint256)", node_id_text(node_id), weight)
    return _tx(CONSENSUS_ADDRESS, data, block_limit, chain_id, group_id, nonce)


def add_observer_tx(suite: CryptoSuite, node_id: bytes, *, block_limit: int, force: bool = False,
                    chain_id: int = 1, group_id: int = 1, nonce: int | None = None) -> Transaction:
    signature = "forceAddObserver(string)" if force else "addObserver(string)"
    data = encode_call(suite, signature, node_id_text(node_id))
    return _tx(CONSENSUS_ADDRESS, data, block_limit, chain_id, group_id, nonce)


def remove_node_tx(suite: CryptoSuite, node_id: bytes, *, block_limit: int, force: bool = False,
                   chain_id: int = 1, group_id: int = 1, nonce: int | None = None) -> Transaction:
    signature = "forceRemove(string)" if force else "remove(string)"
    data = encode_call(suite, signature, node_id_text(node_id))
    return _tx(CONSENSUS_ADDRESS, data, block_limit, chain_id, group_id, nonce)


def set_weight_tx(suite: CryptoSuite, node_id: bytes, weight: int, *, block_limit: int,
                  chain_id: int = 1, group_id: int = 1, nonce: int | None = None) -> Transaction:
    data = encode_call(suite, "setWeight(string,uint256)", node_id_text(node_id), weight)
    return _tx(CONSENSUS_ADDRESS, data, block_limit, chain_id, group_id, nonce)


def set_config_tx(suite: CryptoSuite, key: str, value: str | int, *, block_limit: int,
                  chain_id: int = 1, group_id: int = 1, nonce: int | None = None) -> Transaction:
    """SystemConfig.setValueByKey(key, value), e.g. ("tx_count_limit", 500)."""
    data = encode_call(suite, "setValueByKey(string,string)", key, str(value))
    return _tx(SYSTEM_CONFIG_ADDRESS, data, block_limit, chain_id, group_id, nonce)


# --- auth chains (built with --auth): the committee's transactions ---------------------------------
#
# On an auth chain the functions above are refused (PERMISSION_DENIED): SystemConfig and Consensus
# take orders from the CommitteeManager (0x10001) only, which gives them when a proposal passes.
# A governor signs these instead (see chain.execution.precompiled.committee for every rule).

def committee_tx(suite: CryptoSuite, signature: str, *args: object, block_limit: int, chain_id: int = 1,
                 group_id: int = 1, nonce: int | None = None) -> Transaction:
    """Any CommitteeManager call, e.g. ("voteProposal(uint256,bool)", 3, True)."""
    return _tx(COMMITTEE_MANAGER_ADDRESS, encode_call(suite, signature, *args), block_limit, chain_id, group_id, nonce)


def add_sealer_proposal_tx(suite: CryptoSuite, node_id: bytes, weight: int, interval: int, *, block_limit: int,
                           chain_id: int = 1, group_id: int = 1, nonce: int | None = None) -> Transaction:
    """A governor proposes node_id as a sealer; it is added in the block whose vote passes the proposal."""
    return committee_tx(suite, "createSetConsensusWeightProposal(string,uint32,bool,uint256)", node_id_text(node_id),
                        weight, True, interval, block_limit=block_limit, chain_id=chain_id, group_id=group_id,
                        nonce=nonce)


def set_config_proposal_tx(suite: CryptoSuite, key: str, value: str | int, interval: int, *, block_limit: int,
                           chain_id: int = 1, group_id: int = 1, nonce: int | None = None) -> Transaction:
    return committee_tx(suite, "createSetSysConfigProposal(string,string,uint256)", key, str(value), interval,
                        block_limit=block_limit, chain_id=chain_id, group_id=group_id, nonce=nonce)


def vote_tx(suite: CryptoSuite, proposal_id: int, agree: bool = True, *, block_limit: int, chain_id: int = 1,
            group_id: int = 1, nonce: int | None = None) -> Transaction:
    return committee_tx(suite, "voteProposal(uint256,bool)", proposal_id, agree, block_limit=block_limit,
                        chain_id=chain_id, group_id=group_id, nonce=nonce)


def set_account_status_tx(suite: CryptoSuite, account: bytes, status: int, *, block_limit: int, chain_id: int = 1,
                          group_id: int = 1, nonce: int | None = None) -> Transaction:
    """AccountManager.setAccountStatus: a governor freezes (1), unfreezes (0) or abolishes (2) an account."""
    data = encode_call(suite, "setAccountStatus(address,uint8)", account, status)
    return _tx(ACCOUNT_MANAGER_ADDRESS, data, block_limit, chain_id, group_id, nonce)
