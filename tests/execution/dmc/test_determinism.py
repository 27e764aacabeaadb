"""DMC's result does not depend on how many executors run it, on their timing, or on the run; and
it equals the serial executor's whenever every contract saw its transactions in block order."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.abi.codec import encode_call
from chain.crypto.keys import KeyPair
from chain.execution.dmc import DMCExecutor
from chain.execution.dmc.messages import RoundBatch, RoundReplies
from chain.execution.dmc.scheduler import Stage
from chain.execution.precompiled import SYSTEM_CONFIG_ADDRESS
from chain.ledger.transaction import Transaction
from tests.execution.dmc.blocks import execute, summary
from tests.execution.dmc.conftest import World

CELLS = 4

# one transaction: (what, sender index (0 = admin), cell, other cell, third cell, amount)
operation = st.tuples(
    st.sampled_from(["add", "add_via", "try_fail", "via_fail", "relay", "kv", "config", "direct_config"]),
    st.integers(0, 2), st.integers(0, CELLS - 1), st.integers(0, CELLS - 1), st.integers(0, CELLS - 1),
    st.integers(1, 9),
)


def transaction(world: World, index: int, op: tuple[str, int, int, int, int, int]) -> Transaction:
    what, who, i, j, k, amount = op
    key: KeyPair = world.admin if who == 0 else world.users[who - 1]
    a, b, c = world.cells[i], world.cells[j], world.cells[k]
    fields = {"nonce": index + 1}
    if what == "add":
        data = world.data("add", amount)
    elif what == "add_via":
        data = world.data("add_via", b, amount)
    elif what == "try_fail":  # a callee that reverts, caught by the caller
        data = world.data("try_call", b, world.data("add_then_fail", amount))
    elif what == "via_fail":  # a callee that reverts after its own call succeeded
        data = world.data("try_call", b, world.data("add_via_then_fail", c, amount))
    elif what == "relay":
        data = world.data("relay", b, c, amount)
    elif what == "kv":  # a system contract, called from a contract
        data = world.data("kv_set", f"k{amount}", f"v{index}")
    elif what == "config":  # governance from a contract: refused
        data = world.data("set_config", str(500 + amount))
    else:  # governance sent directly: allowed for the admin only
        data = encode_call(world.local.suite, "setValueByKey(string,string)", "tx_count_limit", str(500 + amount))
        return world.local.transaction(key, SYSTEM_CONFIG_ADDRESS, data, **fields)
    return world.local.transaction(key, a, data, **fields)


def in_block_order(stages: list[Stage]) -> bool:
    """Every contract ran its frames in block order (no transaction's frame after a later one's)."""
    seen: dict[str, int] = {}
    for stage in stages:
        for contract, _, steps in stage.contracts:
            for step in steps:
                if step.context < seen.get(contract, -1):
                    return False
                seen[contract] = step.context
    return True


class ShuffledDMC(DMCExecutor):
    """DMC whose in-process executors run each round in a given order (timing, as seen by the scheduler)."""

    def __init__(self, world: World, executors: int, order: list[int]) -> None:
        super().__init__(world.local.suite, executors=executors)
        self.order = order

    def _run_round(self, batches: dict[int, RoundBatch], pool: object = None) -> dict[int, RoundReplies]:
        ranked = sorted(batches, key=lambda index: self.order.index(index % len(self.order)))
        return {index: self._local[index].run_round(batches[index]) for index in ranked}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=2, max_size=9), order=st.permutations([0, 1, 2, 3]))
def test_same_result_for_any_executor_count_timing_and_run(world: World, ops: list[tuple[str, int, int, int, int, int]],
                                                           order: list[int]) -> None:
    txs = [transaction(world, index, op) for index, op in enumerate(ops)]
    one = DMCExecutor(world.local.suite, executors=1)
    reference = summary(execute(world.local, one, txs))
    assert summary(execute(world.local, one, txs)) == reference  # the same executor, run again
    for executors in (2, 4, 8):  # more executors than contracts too: some stay idle
        assert summary(execute(world.local, ShuffledDMC(world, executors, order), txs)) == reference
    if in_block_order(one.last_stages):
        assert reference == summary(execute(world.local, world.local.executor, txs))


def test_dmc_can_differ_from_serial_when_a_call_reaches_a_contract_after_a_later_transaction(world: World) -> None:
    """Transaction 0 calls cell 1 from cell 0; transaction 1 runs at cell 1 in the first round, so
    0's call arrives after it: cell 1 sees 1 then 0, serial order sees 0 then 1."""
    c0, c1 = world.cells[:2]
    txs = [world.tx(world.admin, c0, "add_via", c1, 5), world.tx(world.admin, c1, "add", 3)]
    dmc = DMCExecutor(world.local.suite, executors=2)
    result = execute(world.local, dmc, txs)
    serial = execute(world.local, world.local.executor, txs)
    assert not in_block_order(dmc.last_stages)
    assert [e.args["total"] for e in world.abi.decode_logs(result.receipts[1].logs)] == [3]
    assert [e.args["total"] for e in world.abi.decode_logs(serial.receipts[1].logs)] == [8]
    assert summary(result) != summary(serial)


def test_worker_processes_give_the_in_process_result(world: World) -> None:
    c = world.cells
    a = world.admin
    txs = [world.tx(a, c[0], "add_via", c[1], 2), world.tx(a, c[1], "add", 3), world.tx(a, c[2], "relay", c[3], c[0], 4),
           world.tx(a, c[3], "try_call", c[2], world.data("add_via_then_fail", c[1], 5)), world.tx(a, c[2], "kv_set", "p", "q"),
           world.tx(a, c[0], "add_via", c[1], 1), world.tx(a, c[1], "add_via", c[0], 1)]
    reference = summary(execute(world.local, DMCExecutor(world.local.suite, executors=1), txs))
    pooled = DMCExecutor(world.local.suite, workers=2)
    try:
        assert summary(execute(world.local, pooled, txs)) == reference
        assert summary(execute(world.local, pooled, txs)) == reference  # again, with the workers' caches filled
    finally:
        pooled.close()


def test_a_worker_that_dies_mid_block_neither_stops_the_chain_nor_changes_the_result(world: World) -> None:
    """A worker killed by the OS (or by a bug) costs one in-process re-execution, not the node."""
    c = world.cells
    a = world.admin
    txs = [world.tx(a, c[0], "add_via", c[1], 2), world.tx(a, c[1], "add", 3), world.tx(a, c[2], "relay", c[3], c[0], 4)]
    reference = summary(execute(world.local, DMCExecutor(world.local.suite, executors=1), txs))
    pooled = DMCExecutor(world.local.suite, workers=2)
    try:
        assert summary(execute(world.local, pooled, txs)) == reference
        assert pooled._pool is not None
        victim = pooled._pool._processes[0]
        victim.kill()
        victim.join(5)
        assert summary(execute(world.local, pooled, txs)) == reference  # executed again in-process
        assert pooled.worker_failures == 1
        assert summary(execute(world.local, pooled, txs)) == reference  # and a fresh pool serves the next
        assert pooled.worker_failures == 1 and all(p.is_alive() for p in pooled._pool._processes)
    finally:
        pooled.close()
