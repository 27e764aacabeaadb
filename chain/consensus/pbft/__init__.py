"""PBFT in the style of FISCO BCOS 3.x: PrePrepare, Prepare, Commit, then Checkpoint on the result.

The public surface: ``Replica`` (the state machine), its events and effects
(``chain.consensus.pbft.effects``), and the message codec (``chain.consensus.pbft.messages``).
"""

from chain.consensus.pbft.effects import (
    BlockCommitted, Broadcast, CancelTimer, Deliver, Effect, Event, Rejected, Send, SetTimer,
    SubmitTransactions, Tick, TimerFired, TxsAccepted, ViewChanged, ViewChangeStarted,
)
from chain.consensus.pbft.messages import MsgType
from chain.consensus.pbft.replica import Replica, ReplicaConfig

__all__ = [
    "BlockCommitted", "Broadcast", "CancelTimer", "Deliver", "Effect", "Event", "MsgType", "Rejected", "Replica",
    "ReplicaConfig", "Send", "SetTimer", "SubmitTransactions", "Tick", "TimerFired", "TxsAccepted", "ViewChanged",
    "ViewChangeStarted",
]
