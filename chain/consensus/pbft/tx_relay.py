"""Transaction relay: client transactions enter the pool and reach every node before a block needs them.

A replica gossips the transactions its clients submit once (TxGossip); a replica checking a
proposal that names transactions it lacks asks the proposer for them (TxRequest / TxResponse).
What comes in goes through the pool's admission rules like a client's transaction.

Here: admitting transactions from clients and peers (``on_tx_gossip``, ``on_tx_request``,
``on_tx_response``).
Each function takes the replica ``r`` whose state it reads and changes; ``Replica`` calls the
``on_*`` ones from its dispatch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft import proposal as proposing
from chain.consensus.pbft.messages import Envelope, MsgType, TxList, TxRequest
from chain.errors import LedgerError, TxRejected
from chain.ledger.status import Status
from chain.ledger.transaction import Transaction

if TYPE_CHECKING:
    from chain.consensus.pbft.replica import Replica


def _admit(r: Replica, txs: Sequence[Transaction | bytes],
           refused: list[fx.TxRefused] | None = None) -> list[Transaction]:
    """The transactions the pool took; why it refused each other one goes to `refused` if given."""
    accepted: list[Transaction] = []
    for item in txs:
        if isinstance(item, (bytes, bytearray)) and r.pool.holds_encoded(bytes(item)):
            # already pooled: a repeat of a gossip (the first one may have been lost elsewhere)
            _note_refusal(r, refused, item, Status.ALREADY_KNOWN, "transaction already in the pool")
            continue
        try:
            tx = Transaction.decode(item) if isinstance(item, (bytes, bytearray)) else item
            r.pool.submit(tx)
            accepted.append(tx)
        except TxRejected as exc:
            if exc.status not in (Status.ALREADY_KNOWN, Status.ALREADY_IN_CHAIN):
                r.reject(f"transaction refused: {exc}", "TX", None)
            _note_refusal(r, refused, item, exc.status, str(exc))
        except LedgerError as exc:
            r.reject(f"transaction refused: {exc}", "TX", None)
            _note_refusal(r, refused, item, Status.MALFORMED_TX, str(exc))
    return accepted


def _note_refusal(r: Replica, refused: list[fx.TxRefused] | None, item: Transaction | bytes,
                  status: int, reason: str) -> None:
    if refused is None:
        return  # a peer's gossip: nobody to tell
    try:
        tx_hash = (Transaction.decode(item) if isinstance(item, (bytes, bytearray)) else item).hash(r.suite)
    except LedgerError:
        tx_hash = b""
    refused.append(fx.TxRefused(tx_hash, int(status), reason))


def on_submit(r: Replica, txs: Sequence[Transaction | bytes]) -> None:
    refused: list[fx.TxRefused] = []
    accepted = _admit(r, txs, refused)
    r.emit(fx.TxsAccepted(tuple(tx.hash(r.suite) for tx in accepted), len(txs) - len(accepted), tuple(refused)))
    for tx in accepted:
        r._client_txs[tx.hash(r.suite)] = r.now
    if accepted and r.my_index is not None:
        gossip = r.unsigned(MsgType.TX_GOSSIP, TxList(tuple(tx.encode() for tx in accepted)))
        r.broadcast(gossip, r.height, r.view)


def regossip_client_transactions(r: Replica, force: bool = False) -> None:
    """Gossip again our clients' transactions still pending a view timeout after their last gossip.

    The first gossip may have been lost (a partition, a peer down). Only the node a client gave
    a transaction to sends it again, and at most once per view timeout: under a heavy load,
    transactions that merely wait their turn for a block are not sent around again each second.
    `force`: all of them now (rPBFT: a new working set, which never heard of them, must propose them).
    """
    pending: list[Transaction] = []
    for tx_hash, gossiped_at in list(r._client_txs.items()):
        tx = r.pool.get(tx_hash)
        if tx is None:
            del r._client_txs[tx_hash]  # committed, expired or replaced: nothing to re-send
        elif (force or r.now - gossiped_at >= r.timeout()) and len(pending) < r.tx_count_limit:
            pending.append(tx)
            r._client_txs[tx_hash] = r.now
    if pending and r.my_index is not None:
        gossip = r.unsigned(MsgType.TX_GOSSIP, TxList(tuple(tx.encode() for tx in pending)))
        r.broadcast(gossip, r.height, r.view)


def on_tx_gossip(r: Replica, envelope: Envelope, body: TxList) -> None:
    accepted = _admit(r, body.txs)
    if accepted:
        r.emit(fx.TxsAccepted(tuple(tx.hash(r.suite) for tx in accepted), len(body.txs) - len(accepted)))


def on_tx_request(r: Replica, envelope: Envelope, request: TxRequest) -> None:
    found = []
    for tx_hash in request.hashes:
        tx = proposing.known_transaction(r, tx_hash)  # also a proposal's, kept since a restart
        if tx is not None:
            found.append(tx.encode())
    if found and r.my_index is not None:
        response = r.unsigned(MsgType.TX_RESPONSE, TxList(tuple(found)))
        r.send(r.node_ids[envelope.sender], response, request.number, r.view)


def on_tx_response(r: Replica, envelope: Envelope, body: TxList) -> None:
    accepted = {tx.hash(r.suite) for tx in _admit(r, body.txs)}
    for raw in body.txs:
        # One a proposal waits for but the pool refuses (full, say) is kept for that proposal,
        # whose check verifies it like any transaction not pooled.
        try:
            tx = Transaction.decode(raw)
        except LedgerError:
            continue
        tx_hash = tx.hash(r.suite)
        if tx_hash not in accepted and tx_hash in r.current.tx_request_sent:
            r.current.kept_txs[tx_hash] = tx
    proposing.retry_waiting(r)
