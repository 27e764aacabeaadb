"""The console's auth commands (FISCO names) and the SDK calls behind them, on an in-process auth chain:
the classroom story of FISCO's committee guide, from getCommitteeInfo to a frozen account."""

from __future__ import annotations

from typing import Any

import pytest

from chain.abi.codec import ContractABI
from chain.cli.console import Console
from chain.contracts import load_artifact
from chain.crypto.keys import KeyPair
from chain.execution.local import LocalChain
from chain.ledger import system
from chain.ledger.receipt import Receipt
from chain.ledger.transaction import new_transaction
from chain.sdk.account import Account
from tests.execution.governance.conftest import make_auth_chain

pytestmark = pytest.mark.timeout(60)


class LocalClient:
    """The few client calls the console's governance commands make, answered by a LocalChain."""

    def __init__(self, chain: LocalChain) -> None:
        self.chain = chain

    @property
    def suite(self) -> Any:
        return self.chain.suite

    def call(self, to: bytes, data: bytes, sender: bytes = b"\x00" * 20) -> tuple[int, bytes]:
        return self.chain.call(to, data, sender)

    def send_and_wait(self, account: Account, to: bytes, data: bytes) -> Receipt:
        tx = new_transaction(to=to, data=data, block_limit=self.chain.number + 100, chain_id=1, group_id=1)
        return self.chain.run_block([account.sign(tx)]).receipts[0]

    def system_config(self, key: str) -> str:
        return system.get_config(self.chain.state, key, self.chain.number + 1)


def shell(chain: LocalChain, key: KeyPair) -> Console:
    return Console(LocalClient(chain), Account(key), {})  # type: ignore[arg-type]


def test_the_committee_guide_in_the_console(suite_name: str, governors: list[KeyPair], user: KeyPair) -> None:
    chain = make_auth_chain(suite_name, governors[:1], (1,))
    first, second = shell(chain, governors[0]), shell(chain, governors[1])
    g0, g1 = "0x" + governors[0].address.hex(), "0x" + governors[1].address.hex()
    info = first.execute("getCommitteeInfo")
    assert "ParticipatesRate: 0% , WinRate: 0%" in info and g0 in info
    # one governor, rates 0: a proposal passes on its proposer's vote
    out = first.execute(f"updateGovernorProposal {g1} 1")
    assert "Update governor proposal created, ID is: 1" in out and "Proposal Status : finished" in out
    assert "Proposal Status : finished" in first.execute("setRateProposal 51 51")
    # now two governors must vote
    out = first.execute("setDeployAuthTypeProposal white_list")
    assert "ID is: 3" in out and "notEnoughVotes" in out
    assert first.execute("getDeployAuth") == "There is no deploy strategy, everyone can deploy contracts."
    assert "Already voted" in first.execute("voteProposal 3")
    out = second.execute("voteProposal 3")
    assert out.startswith("Vote proposal success.") and "finished" in out
    assert first.execute("getDeployAuth") == "Deploy strategy is White List Access."
    assert "PERMISSION DENIED" in first.execute(f"checkDeployAuth 0x{user.address.hex()}")
    second.execute(f"openDeployAuthProposal 0x{user.address.hex()}")
    first.execute("voteProposal 4")
    assert "ACCESS" in first.execute(f"checkDeployAuth 0x{user.address.hex()}")
    assert "Proposal ID: 4" in first.execute("getLatestProposal")
    # the admin path is closed and says where to go
    assert "addSealerProposal" in first.execute("addSealer " + "ab" * 64 + " 1")
    # a user's contract: method ACLs and freezing by its admin
    artifact = load_artifact("HelloWorld", suite_name)
    args = ["hi"] if ContractABI(chain.suite, artifact.abi).constructor_inputs else []
    contract = "0x" + chain.deploy(user, artifact, *args).contract_address.hex()
    owner = shell(chain, user)
    assert f"is: 0x{user.address.hex()}" in first.execute(f"getContractAdmin {contract}")
    assert "PERMISSION_DENIED" in first.execute(f"setMethodAuth {contract} set(string) white_list")
    assert "success" in owner.execute(f"setMethodAuth {contract} set(string) white_list")
    assert "PERMISSION DENIED" in owner.execute(f"checkMethodAuth {contract} set(string) {g0}")
    assert "success" in owner.execute(f"openMethodAuth {contract} set(string) {g0}")
    assert "ACCESS" in owner.execute(f"checkMethodAuth {contract} set(string) {g0}")
    assert "success" in owner.execute(f"freezeContract {contract}")
    assert "success" in owner.execute(f"unfreezeContract {contract}")
    # accounts: a governor freezes directly (no vote, as in FISCO)
    assert "success" in first.execute(f"freezeAccount 0x{user.address.hex()}")
    assert "frozen" in first.execute(f"getAccountStatus 0x{user.address.hex()}")
    assert "ACCOUNT_FROZEN" in owner.execute(f"freezeContract {contract}")
    assert "success" in first.execute(f"unfreezeAccount 0x{user.address.hex()}")
    assert "PERMISSION_DENIED" in owner.execute(f"freezeAccount 0x{governors[2].address.hex()}")
    # mistakes get a usage line, not a traceback
    assert "usage: setMethodAuth" in owner.execute(f"setMethodAuth {contract} set(string) grey_list")
    assert "usage: voteProposal" in first.execute("voteProposal one")
