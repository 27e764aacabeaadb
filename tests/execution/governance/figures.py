"""Figures for docs/governance.md: gas of the governance calls, and what the auth checks cost a transaction.

    .venv/bin/python -m tests.execution.governance.figures [standard|sm]

Gas is deterministic; the times are medians of 7 alternated blocks of 200 HelloWorld.set transactions each, on
a plain chain and on an auth chain with a method policy on set(string) (the heaviest check path).
"""

from __future__ import annotations

import statistics
import sys
import time

from chain.abi.codec import ContractABI, encode_call
from chain.contracts import load_artifact
from chain.crypto.keys import KeyPair
from chain.execution import auth_rules
from chain.execution.local import LocalChain
from chain.execution.precompiled import ACCOUNT_MANAGER_ADDRESS, AUTH_MANAGER_ADDRESS, COMMITTEE_MANAGER_ADDRESS
from chain.ledger.genesis import AuthGenesis


def block_us(chain: LocalChain, key: KeyPair, contract: bytes) -> float:
    """µs per transaction of one block of 200 HelloWorld.set."""
    txs = [chain.transaction(key, contract, encode_call(chain.suite, "set(string)", f"v{i}")) for i in range(200)]
    start = time.perf_counter()
    result = chain.run_block(txs)
    assert all(r.status == 0 for r in result.receipts)
    return (time.perf_counter() - start) / len(txs) * 1e6


def main(suite: str) -> None:
    governors = [KeyPair(suite, 0x6001 + i) for i in range(3)]
    user = KeyPair(suite, 0xB0B)
    auth = LocalChain(suite, auth=AuthGenesis(governors=tuple((g.address, 1) for g in governors),
                                              participates_rate=51, win_rate=51))
    plain = LocalChain(suite)
    artifact = load_artifact("HelloWorld", suite)
    args = ["hi"] if ContractABI(auth.suite, artifact.abi).constructor_inputs else []

    def gas(chain: LocalChain, key: KeyPair, to: bytes, signature: str, *values: object) -> int:
        receipt = chain.send(key, to, encode_call(chain.suite, signature, *values))
        assert receipt.status == 0, (signature, receipt.status)
        return receipt.gas_used

    print(f"suite {suite}: gas used")
    print("  createSetSysConfigProposal (open) ", gas(auth, governors[0], COMMITTEE_MANAGER_ADDRESS,
          "createSetSysConfigProposal(string,string,uint256)", "tx_count_limit", "500", 100))
    print("  voteProposal (passes, executes)   ", gas(auth, governors[1], COMMITTEE_MANAGER_ADDRESS,
          "voteProposal(uint256,bool)", 1, True))
    print("  setAccountStatus (freeze)         ", gas(auth, governors[0], ACCOUNT_MANAGER_ADDRESS,
          "setAccountStatus(address,uint8)", b"\x01" * 20, 1))
    contract = auth.deploy(user, artifact, *args).contract_address
    func = encode_call(auth.suite, "set(string)", "")[:4]
    print("  setMethodAuthType                 ", gas(auth, user, AUTH_MANAGER_ADDRESS,
          "setMethodAuthType(address,bytes4,uint8)", contract, func, 1))
    print("  openMethodAuth                    ", gas(auth, user, AUTH_MANAGER_ADDRESS,
          "openMethodAuth(address,bytes4,address)", contract, func, user.address))
    plain_contract = plain.deploy(user, artifact, *args).contract_address
    plain_runs, auth_runs = [], []
    for _ in range(7):  # alternated, so a busy machine slows both alike
        plain_runs.append(block_us(plain, user, plain_contract))
        auth_runs.append(block_us(auth, user, contract))
    before, after = statistics.median(plain_runs), statistics.median(auth_runs)
    data = encode_call(auth.suite, "set(string)", "x")
    start = time.perf_counter()
    for _ in range(10_000):
        assert auth_rules.refusal(auth.state, user.address, contract, data, False) is None
    checks = (time.perf_counter() - start) / 10_000 * 1e6
    print(f"the auth checks alone (account, contract, method ACL): {checks:.1f} µs per transaction")
    print(f"HelloWorld.set per transaction: plain chain {before:.0f} µs, auth chain with a method ACL {after:.0f} µs "
          f"(+{after - before:.0f} µs, {100 * (after - before) / before:.1f} %)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "standard")
