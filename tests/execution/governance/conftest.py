"""An auth chain in one process: three governors, a user, and helpers to propose and vote."""

from __future__ import annotations

from typing import Any

import pytest

from chain.abi.codec import decode_args, decode_revert_reason, encode_call
from chain.crypto.keys import KeyPair
from chain.execution.local import LocalChain
from chain.execution.precompiled import COMMITTEE_MANAGER_ADDRESS
from chain.ledger.genesis import AuthGenesis
from chain.ledger.receipt import Receipt
from tests.local_chain_fixtures import admin, suite_name, user

__all__ = ["admin", "suite_name", "user", "governors", "auth_chain", "make_auth_chain", "committee_call", "reason",
           "proposal_status"]


@pytest.fixture
def governors(suite_name: str) -> list[KeyPair]:
    return [KeyPair(suite_name, 0x6001 + i) for i in range(3)]


def make_auth_chain(suite_name: str, governors: list[KeyPair], weights: tuple[int, ...] = (1, 1, 1), *,
                    participates: int = 0, win: int = 0, admins: tuple[bytes, ...] = (),
                    sealers: tuple[bytes, ...] = ()) -> LocalChain:
    auth = AuthGenesis(governors=tuple((g.address, w) for g, w in zip(governors, weights)),
                       participates_rate=participates, win_rate=win, proposal_lifetime=100)
    return LocalChain(suite_name, auth=auth, admins=admins, sealers=sealers)


@pytest.fixture
def auth_chain(suite_name: str, governors: list[KeyPair]) -> LocalChain:
    """One governor (the first), rates 0: every proposal passes on its proposer's vote (FISCO's -A default)."""
    return make_auth_chain(suite_name, governors[:1], (1,))


def committee_call(chain: LocalChain, key: KeyPair, signature: str, *args: Any) -> Receipt:
    return chain.send(key, COMMITTEE_MANAGER_ADDRESS, encode_call(chain.suite, signature, *args))


def reason(chain: LocalChain, receipt: Receipt) -> str:
    return decode_revert_reason(chain.suite, receipt.output) or ""


def proposal_status(chain: LocalChain, proposal_id: int) -> int:
    status, output = chain.call(COMMITTEE_MANAGER_ADDRESS, encode_call(chain.suite, "getProposalStatus(uint256)", proposal_id))
    assert status == 0
    return int(decode_args(["uint8"], output)[0])
