"""What an auth chain enforces: the deploy policy, method ACLs set by a contract's admin, frozen
contracts, frozen and abolished accounts (in the executor and in the pool), in both suites."""

from __future__ import annotations

from typing import Any

import pytest

from chain.abi.codec import ContractABI, decode_args, encode_call
from chain.contracts import load_artifact
from chain.crypto.keys import KeyPair
from chain.errors import TxRejected
from chain.execution.local import LocalChain
from chain.execution.precompiled import ACCOUNT_MANAGER_ADDRESS, AUTH_MANAGER_ADDRESS
from chain.ledger.status import Status
from chain.ledger.transaction import Transaction
from chain.txpool.pool import TxPool
from tests.execution.governance.conftest import committee_call, reason

pytestmark = pytest.mark.timeout(60)


def deploy_hello(chain: LocalChain, key: KeyPair) -> Any:
    artifact = load_artifact("HelloWorld", chain.suite.name)
    return chain.deploy(key, artifact, *([] if not ContractABI(chain.suite, artifact.abi).constructor_inputs else ["hi"]))


def auth_call(chain: LocalChain, key: KeyPair, signature: str, *args: Any) -> Any:
    return chain.send(key, AUTH_MANAGER_ADDRESS, encode_call(chain.suite, signature, *args))


def view(chain: LocalChain, to: bytes, signature: str, returns: list[str], *args: Any) -> Any:
    status, output = chain.call(to, encode_call(chain.suite, signature, *args))
    assert status == Status.SUCCESS
    return decode_args(returns, output)[0]


def set_greeting(chain: LocalChain, key: KeyPair, contract: bytes, text: str = "x") -> Any:
    return chain.send(key, contract, encode_call(chain.suite, "set(string)", text))


def test_deploy_white_and_black_lists(auth_chain: LocalChain, governors: list[KeyPair], user: KeyPair) -> None:
    chain, governor = auth_chain, governors[0]
    assert deploy_hello(chain, user).status == Status.SUCCESS  # no policy: anyone deploys
    assert committee_call(chain, governor, "createSetDeployAuthTypeProposal(uint8,uint256)", 1, 10).status == 0
    refused = deploy_hello(chain, user)
    assert refused.status == Status.NO_DEPLOY_PERMISSION and "deploy" in reason(chain, refused)
    assert deploy_hello(chain, governor).status == Status.NO_DEPLOY_PERMISSION  # governors too
    modify = "createModifyDeployAuthProposal(address,bool,uint256)"
    assert committee_call(chain, governor, modify, user.address, True, 10).status == 0
    assert view(chain, AUTH_MANAGER_ADDRESS, "hasDeployAuth(address)", ["bool"], user.address) is True
    assert deploy_hello(chain, user).status == Status.SUCCESS
    assert committee_call(chain, governor, modify, user.address, False, 10).status == 0
    assert deploy_hello(chain, user).status == Status.NO_DEPLOY_PERMISSION
    # black list: everyone deploys but the closed
    assert committee_call(chain, governor, "createSetDeployAuthTypeProposal(uint8,uint256)", 2, 10).status == 0
    assert view(chain, AUTH_MANAGER_ADDRESS, "deployType()", ["uint256"]) == 2
    assert deploy_hello(chain, user).status == Status.SUCCESS
    assert committee_call(chain, governor, modify, user.address, False, 10).status == 0
    assert deploy_hello(chain, user).status == Status.NO_DEPLOY_PERMISSION
    assert deploy_hello(chain, governor).status == Status.SUCCESS


def test_only_the_committee_sets_the_deploy_policy(auth_chain: LocalChain, governors: list[KeyPair]) -> None:
    for key in governors[:1]:
        receipt = auth_call(auth_chain, key, "setDeployAuthType(uint8)", 1)
        assert receipt.status == Status.PERMISSION_DENIED
        assert auth_call(auth_chain, key, "resetAdmin(address,address)", key.address, key.address).status == Status.PERMISSION_DENIED


def test_method_acl_by_the_contract_admin(auth_chain: LocalChain, governors: list[KeyPair], user: KeyPair) -> None:
    chain, other = auth_chain, governors[0]
    contract = deploy_hello(chain, user).contract_address
    assert view(chain, AUTH_MANAGER_ADDRESS, "getAdmin(address)", ["address"], contract).lower() == "0x" + user.address.hex()
    func = encode_call(chain.suite, "set(string)", "")[:4]
    # only the admin sets the contract's rules
    denied = auth_call(chain, other, "setMethodAuthType(address,bytes4,uint8)", contract, func, 1)
    assert denied.status == Status.PERMISSION_DENIED and "admin" in reason(chain, denied)
    # an account is opened or closed on a method's white or black list: the method needs one first
    early = auth_call(chain, user, "openMethodAuth(address,bytes4,address)", contract, func, other.address)
    assert early.status == Status.PRECOMPILED_ERROR and "setMethodAuthType" in reason(chain, early)
    assert auth_call(chain, user, "setMethodAuthType(address,bytes4,uint8)", contract, func, 1).status == 0
    # white list: nobody, the admin included, until opened
    refused = set_greeting(chain, other, contract)
    assert refused.status == Status.NO_CALL_PERMISSION and "may not call" in reason(chain, refused)
    assert set_greeting(chain, user, contract).status == Status.NO_CALL_PERMISSION
    assert chain.call(contract, encode_call(chain.suite, "get()"))[0] == Status.SUCCESS  # other methods are open
    assert auth_call(chain, user, "openMethodAuth(address,bytes4,address)", contract, func, other.address).status == 0
    assert view(chain, AUTH_MANAGER_ADDRESS, "checkMethodAuth(address,bytes4,address)", ["bool"],
                contract, func, other.address) is True
    assert set_greeting(chain, other, contract).status == Status.SUCCESS
    assert set_greeting(chain, user, contract).status == Status.NO_CALL_PERMISSION
    # black list: everyone but the closed
    assert auth_call(chain, user, "setMethodAuthType(address,bytes4,uint8)", contract, func, 2).status == 0
    assert set_greeting(chain, user, contract).status == Status.SUCCESS
    assert auth_call(chain, user, "closeMethodAuth(address,bytes4,address)", contract, func, other.address).status == 0
    assert set_greeting(chain, other, contract).status == Status.NO_CALL_PERMISSION
    # the committee can hand the contract to another admin
    reset = "createResetAdminProposal(address,address,uint256)"
    assert committee_call(chain, governors[0], reset, other.address, contract, 10).status == 0
    assert auth_call(chain, user, "setMethodAuthType(address,bytes4,uint8)", contract, func, 1).status == Status.PERMISSION_DENIED
    assert auth_call(chain, other, "openMethodAuth(address,bytes4,address)", contract, func, other.address).status == 0
    assert set_greeting(chain, other, contract).status == Status.SUCCESS


def test_a_frozen_contract_takes_no_calls(auth_chain: LocalChain, governors: list[KeyPair], user: KeyPair) -> None:
    chain = auth_chain
    contract = deploy_hello(chain, user).contract_address
    assert auth_call(chain, governors[0], "setContractStatus(address,bool)", contract, True).status == Status.PERMISSION_DENIED
    assert auth_call(chain, user, "setContractStatus(address,bool)", contract, True).status == 0
    assert view(chain, AUTH_MANAGER_ADDRESS, "contractAvailable(address)", ["bool"], contract) is False
    refused = set_greeting(chain, user, contract)
    assert refused.status == Status.CONTRACT_FROZEN and "frozen" in reason(chain, refused)
    assert chain.call(contract, encode_call(chain.suite, "get()"))[0] == Status.CONTRACT_FROZEN
    assert auth_call(chain, user, "setContractStatus(address,bool)", contract, False).status == 0
    assert set_greeting(chain, user, contract).status == Status.SUCCESS


class ChainView:
    """The pool's view of a LocalChain: its state and head (no nonce or transaction history needed)."""

    def __init__(self, chain: LocalChain) -> None:
        self.local = chain

    def get(self, table: str, key: bytes) -> bytes | None:
        return self.local.state.get(table, key)

    def head_number(self) -> int:
        return self.local.number

    def nonce_on_chain(self, nonce: int, since_number: int) -> bool:
        return False

    def transaction(self, tx_hash: bytes) -> tuple[Transaction, int, int] | None:
        return None


def test_frozen_and_abolished_accounts(auth_chain: LocalChain, governors: list[KeyPair], user: KeyPair,
                                       admin: KeyPair) -> None:
    chain, governor = auth_chain, governors[0]
    set_status = "setAccountStatus(address,uint8)"
    pool = TxPool(chain.suite, ChainView(chain), chain_id=chain.chain_id, group_id=chain.group_id)
    contract = deploy_hello(chain, user).contract_address
    # only a governor, never on a governor, never on a contract
    assert chain.send(user, ACCOUNT_MANAGER_ADDRESS, encode_call(chain.suite, set_status, admin.address, 1)).status \
        == Status.PERMISSION_DENIED
    assert chain.send(governor, ACCOUNT_MANAGER_ADDRESS, encode_call(chain.suite, set_status, governor.address, 1)).status \
        == Status.PRECOMPILED_ERROR
    assert chain.send(governor, ACCOUNT_MANAGER_ADDRESS, encode_call(chain.suite, set_status, contract, 1)).status \
        == Status.PRECOMPILED_ERROR
    # frozen: refused by the executor (a block from a faulty leader) and by the pool
    assert chain.send(governor, ACCOUNT_MANAGER_ADDRESS, encode_call(chain.suite, set_status, user.address, 1)).status == 0
    assert view(chain, ACCOUNT_MANAGER_ADDRESS, "getAccountStatus(address)", ["uint8"], user.address) == 1
    refused = set_greeting(chain, user, contract)
    assert refused.status == Status.ACCOUNT_FROZEN and "frozen" in reason(chain, refused)
    with pytest.raises(TxRejected) as rejected:
        pool.submit(chain.transaction(user, contract, encode_call(chain.suite, "set(string)", "y")))
    assert rejected.value.status == Status.ACCOUNT_FROZEN
    # unfrozen: sends again
    assert chain.send(governor, ACCOUNT_MANAGER_ADDRESS, encode_call(chain.suite, set_status, user.address, 0)).status == 0
    assert set_greeting(chain, user, contract).status == Status.SUCCESS
    pool.submit(chain.transaction(user, contract, encode_call(chain.suite, "set(string)", "z")))
    # abolished: for ever
    assert chain.send(governor, ACCOUNT_MANAGER_ADDRESS, encode_call(chain.suite, set_status, user.address, 2)).status == 0
    assert set_greeting(chain, user, contract).status == Status.ACCOUNT_FROZEN
    back = chain.send(governor, ACCOUNT_MANAGER_ADDRESS, encode_call(chain.suite, set_status, user.address, 0))
    assert back.status == Status.PRECOMPILED_ERROR and "abolish" in reason(chain, back)


def test_without_auth_nothing_is_enforced(suite_name: str, user: KeyPair, admin: KeyPair) -> None:
    chain = LocalChain(suite_name, admins=[admin.address])
    contract = deploy_hello(chain, user).contract_address
    assert set_greeting(chain, user, contract).status == Status.SUCCESS
    assert chain.send(admin, ACCOUNT_MANAGER_ADDRESS, encode_call(
        chain.suite, "setAccountStatus(address,uint8)", user.address, 1)).status == Status.PRECOMPILED_ERROR
    assert auth_call(chain, user, "setContractStatus(address,bool)", contract, True).status == Status.PERMISSION_DENIED
    assert set_greeting(chain, user, contract).status == Status.SUCCESS


def proxy_code(target: bytes) -> bytes:
    """Init code of a contract that forwards its call data to `target` and reverts if that call fails."""
    runtime = bytes.fromhex("366000600037" "600060003660006000" "73") + target + bytes.fromhex("5af115602b57005b60006000fd")
    assert len(runtime) == 0x31
    return bytes.fromhex("6031600c60003960316000f3") + runtime


def test_rules_hold_for_calls_made_by_contracts(auth_chain: LocalChain, user: KeyPair) -> None:
    """A contract calling a frozen or ACL-protected contract is refused too, against tx.origin (FISCO's rule)."""
    chain = auth_chain
    contract = deploy_hello(chain, user).contract_address
    proxy = chain.send(user, b"", proxy_code(contract)).contract_address
    assert set_greeting(chain, user, proxy, "via proxy").status == Status.SUCCESS
    assert auth_call(chain, user, "setContractStatus(address,bool)", contract, True).status == 0
    assert set_greeting(chain, user, proxy).status == Status.REVERT_INSTRUCTION  # the inner frame was refused
    assert auth_call(chain, user, "setContractStatus(address,bool)", contract, False).status == 0
    func = encode_call(chain.suite, "set(string)", "")[:4]
    assert auth_call(chain, user, "setMethodAuthType(address,bytes4,uint8)", contract, func, 1).status == 0
    assert set_greeting(chain, user, proxy).status == Status.REVERT_INSTRUCTION  # user is not on the white list
    assert auth_call(chain, user, "openMethodAuth(address,bytes4,address)", contract, func, user.address).status == 0
    assert set_greeting(chain, user, proxy).status == Status.SUCCESS
