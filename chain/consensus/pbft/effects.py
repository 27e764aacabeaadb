"""What drives a replica (events) and what a replica asks its driver to do (effects).

A replica never touches a socket, a clock or a thread: the driver hands it one event at a time
with the current time, and carries out the effects it returns — deliver these bytes, start that
timer, show this commit. The simulator and the node process are two such drivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol, Union

from chain.consensus.pbft.messages import MsgType
from chain.ledger.transaction import Transaction

# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deliver:
    """A message arrived. `peer` is the transport's idea of the sender (node id), used for replies."""

    peer: bytes
    raw: bytes


@dataclass(frozen=True)
class TimerFired:
    name: str


@dataclass(frozen=True)
class SubmitTransactions:
    """Transactions from a client (decoded or raw); accepted ones go to the pool and are gossiped."""

    txs: tuple[Transaction | bytes, ...]


@dataclass(frozen=True)
class Tick:
    """A periodic nudge: lets the replica retry block sync and re-check sealing."""


Event = Union[Deliver, TimerFired, SubmitTransactions, Tick]


# --- effects ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Send raw to one node. type/number/view describe the message for traces without decoding it."""

    to: bytes
    raw: bytes
    type: MsgType
    number: int
    view: int


@dataclass(frozen=True)
class Broadcast:
    """Send raw to every other node of the node list (sealers and observers), or to the nodes `to` names.

    `to` is set by rPBFT for what only the epoch's working sealers use (chain.consensus.pbft.rpbft).
    """

    raw: bytes
    type: MsgType
    number: int
    view: int
    to: tuple[bytes, ...] | None = None


# The replica's timers, by the name SetTimer, CancelTimer and TimerFired carry.
VIEW_TIMER = "view"  # runs while work waits; on expiry this sealer asks for a view change
SEAL_TIMER = "seal"  # the leader's min_seal_time: then it seals what waits, however little


@dataclass(frozen=True)
class SetTimer:
    """(Re)start timer `name` to fire after delay_ms; a running timer of that name is replaced."""

    name: str
    delay_ms: int


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class BlockCommitted:
    number: int
    block_hash: bytes
    tx_count: int
    view: int
    via: str  # "consensus" (a checkpoint quorum seen here) or "sync" (fetched from a peer)


@dataclass(frozen=True)
class ViewChangeStarted:
    """The view timer expired: this replica asks to move to `to_view`."""

    number: int
    to_view: int


@dataclass(frozen=True)
class ViewChanged:
    """A NewView was accepted: this replica now works in `view`."""

    number: int
    view: int


@dataclass(frozen=True)
class Rejected:
    """A message was refused; `reason` says which rule it broke."""

    reason: str
    type: str  # the message type name, or "?" when the bytes did not even decode
    sender: int | None


@dataclass(frozen=True)
class TxRefused:
    """A client's transaction the pool refused, and why (the driver tells the client)."""

    tx_hash: bytes  # b"" for bytes that do not decode as a transaction
    status: int  # the FISCO status (chain.ledger.status.Status), e.g. ALREADY_KNOWN, NONCE_CHECK_FAIL
    reason: str


@dataclass(frozen=True)
class TxsAccepted:
    """Transactions entered this replica's pool (from a client or gossip).

    For a client's submission, `refused` says why each other one did not, in submission order, so
    the driver answers the client without asking the pool again.
    """

    hashes: tuple[bytes, ...]
    rejected: int
    refused: tuple[TxRefused, ...] = ()


Effect = Union[Send, Broadcast, SetTimer, CancelTimer, BlockCommitted, ViewChangeStarted, ViewChanged, Rejected, TxsAccepted]


class EffectHandler(Protocol):
    """What a driver does with each kind of effect: the simulator and the node process both are one.

    One method per effect, so a new kind of effect is a type error in every driver until each says
    what it does with it (an if/elif ladder in each driver would silently drop it).
    """

    def on_send(self, effect: Send) -> None: ...
    def on_broadcast(self, effect: Broadcast) -> None: ...
    def on_set_timer(self, effect: SetTimer) -> None: ...
    def on_cancel_timer(self, effect: CancelTimer) -> None: ...
    def on_block_committed(self, effect: BlockCommitted) -> None: ...
    def on_view_change_started(self, effect: ViewChangeStarted) -> None: ...
    def on_view_changed(self, effect: ViewChanged) -> None: ...
    def on_rejected(self, effect: Rejected) -> None: ...
    def on_txs_accepted(self, effect: TxsAccepted) -> None: ...


def carry_out(effects: Iterable[Effect], handler: EffectHandler) -> None:
    """Hand each effect, in the order the replica returned them, to the driver's method for it."""
    for effect in effects:
        match effect:
            case Send():
                handler.on_send(effect)
            case Broadcast():
                handler.on_broadcast(effect)
            case SetTimer():
                handler.on_set_timer(effect)
            case CancelTimer():
                handler.on_cancel_timer(effect)
            case BlockCommitted():
                handler.on_block_committed(effect)
            case ViewChangeStarted():
                handler.on_view_change_started(effect)
            case ViewChanged():
                handler.on_view_changed(effect)
            case Rejected():
                handler.on_rejected(effect)
            case TxsAccepted():
                handler.on_txs_accepted(effect)
