"""Transaction relay: client transactions enter the pool and reach every node before a block needs them.

A replica gossips the transactions its clients submit once (TxGossip); a replica checking a
proposal that names transactions it lacks asks the proposer for them (TxRequest / TxResponse).
What comes in goes through the pool's admission rules like a client's transaction.

``TxRelay`` holds these handlers; it is mixed into ``Replica``, whose state they use.
"""

from __future__ import annotations

from typing import Sequence

from chain.consensus.pbft import effects as fx
from chain.consensus.pbft.messages import Envelope, MsgType, TxList, TxRequest
from chain.errors import LedgerError, TxRejected
from chain.ledger.status import Status
from chain.ledger.transaction import Transaction


class TxRelay:
    """Admitting transactions from clients and peers (``on_tx_gossip``, ``on_tx_request``, ``on_tx_response``)."""

    def _admit(self, txs: Sequence[Transaction | bytes]) -> list[Transaction]:
        accepted: list[Transaction] = []
        for item in txs:
            if isinstance(item, (bytes, bytearray)) and self.pool.holds_encoded(bytes(item)):
                continue  # already pooled: a repeat of a gossip (the first one may have been lost elsewhere)
            try:
                tx = Transaction.decode(item) if isinstance(item, (bytes, bytearray)) else item
                self.pool.submit(tx)
                accepted.append(tx)
            except TxRejected as exc:
                if exc.status not in (Status.ALREADY_KNOWN, Status.ALREADY_IN_CHAIN):
                    self._reject(f"transaction refused: {exc}", "TX", None)
            except LedgerError as exc:
                self._reject(f"transaction refused: {exc}", "TX", None)
        return accepted

    def _on_submit(self, txs: Sequence[Transaction | bytes]) -> None:
        accepted = self._admit(txs)
        self._out.append(fx.TxsAccepted(tuple(tx.hash(self.suite) for tx in accepted), len(txs) - len(accepted)))
        for tx in accepted:
            self._client_txs[tx.hash(self.suite)] = self.now
        if accepted and self.my_index is not None:
            gossip = self.sign(MsgType.TX_GOSSIP, TxList(tuple(tx.encode() for tx in accepted)))
            self._broadcast(gossip, self.height, self.view)

    def _regossip_client_transactions(self) -> None:
        """Gossip again our clients' transactions still pending a view timeout after their last gossip.

        The first gossip may have been lost (a partition, a peer down). Only the node a client gave
        a transaction to sends it again, and at most once per view timeout: under a heavy load,
        transactions that merely wait their turn for a block are not sent around again each second.
        """
        pending: list[Transaction] = []
        for tx_hash, gossiped_at in list(self._client_txs.items()):
            tx = self.pool.get(tx_hash)
            if tx is None:
                del self._client_txs[tx_hash]  # committed, expired or replaced: nothing to re-send
            elif self.now - gossiped_at >= self._timeout() and len(pending) < self.tx_count_limit:
                pending.append(tx)
                self._client_txs[tx_hash] = self.now
        if pending and self.my_index is not None:
            gossip = self.sign(MsgType.TX_GOSSIP, TxList(tuple(tx.encode() for tx in pending)))
            self._broadcast(gossip, self.height, self.view)

    def on_tx_gossip(self, envelope: Envelope, body: TxList) -> None:
        accepted = self._admit(body.txs)
        if accepted:
            self._out.append(fx.TxsAccepted(tuple(tx.hash(self.suite) for tx in accepted), len(body.txs) - len(accepted)))

    def on_tx_request(self, envelope: Envelope, request: TxRequest) -> None:
        found = []
        for tx_hash in request.hashes:
            tx = self._known_transaction(tx_hash)  # also a proposal's, kept since a restart
            if tx is not None:
                found.append(tx.encode())
        if found and self.my_index is not None:
            response = self.sign(MsgType.TX_RESPONSE, TxList(tuple(found)))
            self._send(self.node_ids[envelope.sender], response, request.number, self.view)

    def on_tx_response(self, envelope: Envelope, body: TxList) -> None:
        accepted = {tx.hash(self.suite) for tx in self._admit(body.txs)}
        for raw in body.txs:
            # One a proposal waits for but the pool refuses (full, say) is kept for that proposal,
            # whose check verifies it like any transaction not pooled.
            try:
                tx = Transaction.decode(raw)
            except LedgerError:
                continue
            tx_hash = tx.hash(self.suite)
            if tx_hash not in accepted and tx_hash in self.current.tx_request_sent:
                self.current.kept_txs[tx_hash] = tx
        self._retry_waiting()
