"""The node object in-process: its NodeApi on a one-sealer chain, and refusals at start-up."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain.cli.main import app
from chain.crypto.keys import KeyPair, save_private_key
from chain.errors import ConfigError, StoreError, TxRejected
from chain.execution.kv import encode_kv
from chain.ledger.genesis import GenesisConfig
from chain.ledger.transaction import new_transaction, sign_transaction
from chain.node.builder import BuildOptions, build_chain
from chain.node.config import NodeConfig
from chain.node.node import Node
from chain.node.ports import free_port_bases
from chain.node.process import PID_FILE, _claim_pid_file


pytestmark = pytest.mark.timeout(60)


def one_sealer(tmp_path: Path, executor: str = "kv") -> Path:
    p2p, rpc = free_port_bases(1)
    built = build_chain(tmp_path / "solo", BuildOptions(nodes=1, suite="standard", port_base=p2p, rpc_port_base=rpc,
                                                         executor=executor, min_seal_time_ms=10))
    return built.nodes[0].directory


def test_node_api_on_a_one_sealer_chain(tmp_path: Path) -> None:
    node_dir = one_sealer(tmp_path)
    admin = KeyPair.generate("standard")

    async def scenario() -> None:
        node = Node(node_dir)
        await node.start()
        try:
            assert node.node_name == "node0" and node.group_name == "group0" and node.chain_id == 1
            assert node.node_ids() == [node.node_id]
            status = node.consensus_status()
            assert status["sealers"] == [node.node_id.hex()] and status["nodeIndex"] == 0
            assert status["leader"] == 0 and status["height"] == 1 and status["timeoutMs"] == 3000
            tx = sign_transaction(new_transaction(to=bytes(20), data=encode_kv(b"k", b"v"), block_limit=100), admin)
            tx_hash = node.submit_transaction(tx)
            assert tx_hash == tx.hash(node.suite)
            with pytest.raises(TxRejected):  # the same transaction again
                node.submit_transaction(tx)
            wrong_chain = sign_transaction(new_transaction(to=bytes(20), data=b"k\x00v", block_limit=100, chain_id=9), admin)
            with pytest.raises(TxRejected, match="chain"):
                node.submit_transaction(wrong_chain)
            for _ in range(100):
                if node.store.receipt(tx_hash) is not None:
                    break
                await asyncio.sleep(0.05)
            assert node.store.receipt(tx_hash) is not None
            sync = node.sync_status()
            assert sync["blockNumber"] == 1 and sync["latestHash"] == "0x" + node.store.head().hash(node.suite).hex()
            assert node.peers() == [] and node.rpc_port is not None
            assert node.call(bytes(20), b"", bytes(20))[0] != 0  # the kv stand-in has no contracts to call
        finally:
            await node.stop()

    asyncio.run(scenario())


def test_node_refuses_a_key_of_the_wrong_suite(tmp_path: Path) -> None:
    node_dir = one_sealer(tmp_path)
    (node_dir / "node.key").unlink()
    save_private_key(node_dir / "node.key", KeyPair.generate("sm"))
    with pytest.raises(ConfigError, match="suite|sm"):
        Node(node_dir)


def test_node_refuses_a_store_of_another_chain(tmp_path: Path) -> None:
    node_dir = one_sealer(tmp_path)
    asyncio.run(_start_stop(node_dir))  # creates the store with this genesis
    genesis = GenesisConfig.load(node_dir / "genesis.toml")
    other = GenesisConfig(chain_id=2, group_id=genesis.group_id, suite=genesis.suite, sealers=genesis.sealers)
    other.dump(node_dir / "genesis.toml")
    with pytest.raises(StoreError, match="genesis"):
        Node(node_dir)


async def _start_stop(node_dir: Path) -> None:
    node = Node(node_dir)
    await node.start()
    await node.stop()


def test_second_process_on_the_same_node_is_refused(tmp_path: Path) -> None:
    node_dir = one_sealer(tmp_path)
    (node_dir / PID_FILE).write_text(f"{os.getppid()}\n")  # a live process that is not us
    with pytest.raises(ConfigError, match="already running"):
        _claim_pid_file(node_dir)
    (node_dir / PID_FILE).write_text("999999999\n")  # stale: that process is gone
    assert _claim_pid_file(node_dir).read_text().strip() == str(os.getpid())


def test_cli_node_start_reports_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["node", "start", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "cannot read" in result.output
    assert NodeConfig.load(one_sealer(tmp_path)).node.name == "node0"


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    from chain.errors import NetworkError

    node_dir = one_sealer(tmp_path)
    config = NodeConfig.load(node_dir)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", config.network.listen_port))
        squatter.listen()
        with pytest.raises(NetworkError, match="cannot listen"):
            asyncio.run(_start_stop(node_dir))


def test_submit_transactions_judges_each_and_gossips_once(tmp_path: Path) -> None:
    from chain.consensus.pbft.messages import MsgType, decode_envelope

    node_dir = one_sealer(tmp_path)
    admin = KeyPair.generate("standard")

    async def scenario() -> None:
        node = Node(node_dir)
        await node.start()
        sent: list[bytes] = []
        node.host.broadcast = lambda raw: sent.append(raw) or 0  # type: ignore[method-assign]
        try:
            good = [sign_transaction(new_transaction(to=bytes(20), data=encode_kv(b"k%d" % i, b"v"), block_limit=100), admin)
                    for i in range(3)]
            wrong_chain = sign_transaction(new_transaction(to=bytes(20), data=b"k\x00v", block_limit=100, chain_id=9), admin)
            outcomes = node.submit_transactions([good[0], wrong_chain, good[1], good[0], good[2]])
            assert outcomes[0] == good[0].hash(node.suite) and outcomes[2] == good[1].hash(node.suite)
            assert isinstance(outcomes[1], TxRejected) and "chain" in str(outcomes[1])
            assert isinstance(outcomes[3], TxRejected) and "already" in str(outcomes[3])
            assert outcomes[4] == good[2].hash(node.suite)
            gossip = [decode_envelope(raw) for raw in sent if decode_envelope(raw).type == MsgType.TX_GOSSIP]
            assert len(gossip) == 1 and len(gossip[0].body().txs) == 3
        finally:
            await node.stop()

    asyncio.run(scenario())


def test_submit_soon_admits_concurrent_requests_in_one_round(tmp_path: Path) -> None:
    from chain.consensus.pbft.messages import MsgType, decode_envelope

    node_dir = one_sealer(tmp_path)
    admin = KeyPair.generate("standard")

    async def scenario() -> None:
        node = Node(node_dir)
        await node.start()
        sent: list[bytes] = []
        node.host.broadcast = lambda raw: sent.append(raw) or 0  # type: ignore[method-assign]
        try:
            txs = [sign_transaction(new_transaction(to=bytes(20), data=encode_kv(b"k%d" % i, b"v"), block_limit=100), admin)
                   for i in range(4)]
            # Three "requests" in the same turn of the loop: one round, one gossip message.
            answers = await asyncio.gather(node.submit_soon(txs[:2]), node.submit_soon([txs[2]]), node.submit_soon([txs[0]]))
            assert answers[0] == [txs[0].hash(node.suite), txs[1].hash(node.suite)]
            assert answers[1] == [txs[2].hash(node.suite)]
            assert isinstance(answers[2][0], TxRejected)  # the same tx again, in the same round
            gossip = [decode_envelope(raw) for raw in sent if decode_envelope(raw).type == MsgType.TX_GOSSIP]
            assert [len(g.body().txs) for g in gossip] == [3]
            # A later request is a new round.
            assert await node.submit_soon([txs[3]]) == [txs[3].hash(node.suite)]
            gossip = [decode_envelope(raw) for raw in sent if decode_envelope(raw).type == MsgType.TX_GOSSIP]
            assert [len(g.body().txs) for g in gossip] == [3, 1]
        finally:
            await node.stop()

    asyncio.run(scenario())


def test_the_tree_broadcast_is_set_in_config_toml(tmp_path: Path) -> None:
    """[consensus] tree_width reaches the replica (FISCO 2.x broadcast_prepare_by_tree on real nodes)."""
    node_dir = one_sealer(tmp_path)
    assert Node(node_dir).replica.config.tree_width == 0  # off unless asked
    config = (node_dir / "config.toml").read_text()
    assert "tree_width = 0" in config  # a built node's config names the option
    (node_dir / "config.toml").write_text(config.replace("tree_width = 0", "tree_width = 3", 1))
    assert Node(node_dir).replica.config.tree_width == 3
    (node_dir / "config.toml").write_text(config.replace("tree_width = 0", "tree_width = 1", 1))
    with pytest.raises(ConfigError, match="tree_width"):
        Node(node_dir)


def test_the_pipeline_is_on_unless_config_toml_turns_it_off(tmp_path: Path) -> None:
    """[consensus] pipeline reaches the replica (chain.consensus.pbft.pipeline; off: one height at a time, a lesson)."""
    node_dir = one_sealer(tmp_path)
    assert Node(node_dir).replica.config.pipeline is True
    config = (node_dir / "config.toml").read_text()
    assert "pipeline = true" in config  # a built node's config names the option
    (node_dir / "config.toml").write_text(config.replace("pipeline = true", "pipeline = false", 1))
    assert Node(node_dir).replica.config.pipeline is False
    (node_dir / "config.toml").write_text(config.replace("pipeline = true", "pipeline = 1", 1))
    with pytest.raises(ConfigError, match="pipeline"):
        Node(node_dir)
