"""web3.py TPS: state-changing contract calls sent through the web3 endpoint of a running chain.

    python tools/web3_tps.py DIR [--count 400] [--accounts 8]

DIR is a chain built with ``chain build --suite standard --web3 --executor evm`` whose nodes run.
One account deploys HelloWorld; then `accounts` fresh eth-account keys each sign count/accounts
``set(string)`` EIP-1559 transactions (nonces 0..), which threads send with web3.py's
``send_raw_transaction``, one account per thread, spread over the nodes' web3 ports. The figure
is committed transactions per second from the first send to the last receipt — the web3 peer of
``chain bench tps --kind asset`` (which sends pre-signed FISCO transactions in JSON-RPC batches).
Needs the test extra (web3, eth-account).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import time
from pathlib import Path

from eth_account import Account
from web3 import Web3

from chain.contracts import load_artifact
from chain.node.builder import read_nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--accounts", type=int, default=8)
    args = parser.parse_args()
    urls = [node.web3 for node in read_nodes(args.directory) if node.web3]
    if not urls:
        raise SystemExit(f"{args.directory}: no node serves web3 (build it with --web3)")
    clients = [Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60})) for url in urls]
    w3 = clients[0]
    chain_id = w3.eth.chain_id
    artifact = load_artifact("HelloWorld", "standard")
    deployer = Account.create()
    deploy = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor().build_transaction(
        {"from": deployer.address, "nonce": 0, "gas": 3_000_000, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0,
         "chainId": chain_id})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(deployer.sign_transaction(deploy).raw_transaction), timeout=60)
    hello = w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    per_account = args.count // args.accounts
    signed: list[list[bytes]] = []
    for _ in range(args.accounts):
        account = Account.create()
        txs = []
        for nonce in range(per_account):
            tx = hello.functions.set(f"n{nonce}").build_transaction(
                {"from": account.address, "nonce": nonce, "gas": 200_000, "maxFeePerGas": 0,
                 "maxPriorityFeePerGas": 0, "chainId": chain_id})
            txs.append(bytes(account.sign_transaction(tx).raw_transaction))
        signed.append(txs)

    def send(i: int) -> list[bytes]:
        client = clients[i % len(clients)]
        return [bytes(client.eth.send_raw_transaction(raw)) for raw in signed[i]]

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.accounts) as pool:
        batches = list(pool.map(send, range(args.accounts)))
    sent = time.monotonic()
    # An account's last nonce commits only after all its earlier ones: wait for those alone.
    for batch in batches:
        w3.eth.wait_for_transaction_receipt(batch[-1], timeout=300, poll_latency=0.05)
    done = time.monotonic()
    hashes = [h for batch in batches for h in batch]
    failed = [h for h in hashes if w3.eth.get_transaction_receipt(h)["status"] != 1]
    assert not failed, f"{len(failed)} transactions failed"
    total = len(hashes)
    print(f"web3.py: {total} state-changing calls from {args.accounts} accounts over {len(urls)} nodes: "
          f"sent in {sent - start:.1f} s, all committed in {done - start:.1f} s -> {total / (done - start):.0f} tx/s")


if __name__ == "__main__":
    main()
