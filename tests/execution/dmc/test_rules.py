"""DMC's fixed rules, each shown on a small block (and each test seen failing without its rule)."""

from __future__ import annotations

from chain.execution.dmc import DMCExecutor
from chain.execution.dmc.scheduler import Stage
from chain.execution.precompiled import SYSTEM_CONFIG_ADDRESS
from chain.abi.codec import encode_call
from chain.ledger.status import Status
from tests.execution.dmc.blocks import execute, summary
from tests.execution.dmc.conftest import World


def runs(stages: list[Stage], contract: bytes) -> list[tuple[int, int, int, str]]:
    """(stage, context, seq, how it stopped) of every frame run at one contract, in order."""
    return [(stage.number, step.context, step.seq, step.reply)
            for stage in stages for key, _, steps in stage.contracts if key == contract.hex() for step in steps]


def added_totals(world: World, receipt: object) -> list[int]:
    """The `total` of every Added event in a receipt."""
    return [event.args["total"] for event in world.abi.decode_logs(receipt.logs)]  # type: ignore[attr-defined]


def test_worked_example_of_fiscos_design_doc(world: World) -> None:
    """FISCO's DMC.md: messages 1..6 to contracts 1,1,2,3,2,3; message 2 calls contract 3.

    Messages 1, 3, 4 run first, each on its contract's executor; message 2's call to contract 3 is
    routed there at a sync point and runs after message 6 already ran there; message 2 then resumes
    on contract 1 and ends last. Here a contract runs its queued transactions in one round until
    one pauses (FISCO's ExecutiveStackFlow), so 2/5/6 run in the first round, not a second.
    """
    c1, c2, c3 = world.cells[:3]
    a = world.admin
    txs = [world.tx(a, c1, "add", 1), world.tx(a, c1, "add_via", c3, 5), world.tx(a, c2, "add", 2),
           world.tx(a, c3, "add", 3), world.tx(a, c2, "add", 4), world.tx(a, c3, "add", 6)]
    dmc = DMCExecutor(world.local.suite, executors=3)
    result = execute(world.local, dmc, txs)
    assert all(r.ok for r in result.receipts)
    stages = dmc.last_stages
    assert runs(stages, c1) == [(0, 0, 0, "finished"), (0, 1, 0, "call_out"), (2, 1, 0, "finished")]
    assert runs(stages, c2) == [(0, 2, 0, "finished"), (0, 4, 0, "finished")]
    assert runs(stages, c3) == [(0, 3, 0, "finished"), (0, 5, 0, "finished"), (1, 1, 1, "finished")]
    assert len({executor for stage in stages[:1] for _, executor, _ in stage.contracts}) == 3  # in parallel
    # contract 3 saw 3, then 6, then message 2's +5: the call returns 14, where serial order gives 5
    assert added_totals(world, result.receipts[1]) == [14]
    serial = execute(world.local, world.local.executor, txs)
    assert added_totals(world, serial.receipts[1]) == [5]
    assert result.block.header.state_root != serial.block.header.state_root


def test_a_contracts_own_transactions_wait_while_one_of_them_is_paused(world: World) -> None:
    c1, c2 = world.cells[:2]
    a = world.admin
    txs = [world.tx(a, c1, "add_via", c2, 1), world.tx(a, c1, "add", 7)]
    dmc = DMCExecutor(world.local.suite, executors=2)
    execute(world.local, dmc, txs)
    # transaction 1 does not start (and run into transaction 0's locked row) while 0 is paused
    assert runs(dmc.last_stages, c1) == [(0, 0, 0, "call_out"), (2, 0, 0, "finished"), (2, 1, 0, "finished")]


def test_a_row_touched_by_a_paused_transaction_is_locked_until_it_ends(world: World) -> None:
    """Transaction 1's call into contract 1 waits for the row transaction 0 holds; same as serial."""
    c1, c2, c3 = world.cells[:3]
    a = world.admin
    txs = [world.tx(a, c1, "add_via", c2, 1), world.tx(a, c3, "add_via", c1, 10)]
    dmc = DMCExecutor(world.local.suite, executors=3)
    result = execute(world.local, dmc, txs)
    assert ("key_lock" in [reply for _, _, _, reply in runs(dmc.last_stages, c1)])
    assert summary(result) == summary(execute(world.local, world.local.executor, txs))


def test_deadlock_reverts_the_waiter_at_the_lowest_contract_address(world: World) -> None:
    """0 holds cell A's row and calls B; 1 holds B's row and calls A: each call waits for the other.

    FISCO's rule: executors in address order, locked frames in block order, the first in a loop is
    reverted — the call of transaction 1 waiting at cell A (the lower address), so 1 reverts and 0
    completes as if it ran alone.
    """
    low, high = world.cells[0], world.cells[1]
    a = world.admin
    txs = [world.tx(a, low, "add_via", high, 1), world.tx(a, high, "add_via", low, 2)]
    results = []
    for executors in (1, 2):
        dmc = DMCExecutor(world.local.suite, executors=executors)
        results.append(execute(world.local, dmc, txs))
        assert [s.deadlock_victim for s in dmc.last_stages if s.deadlock_victim is not None] == [1]
    first, second = results[0].receipts
    assert first.ok and second.status == Status.REVERT_INSTRUCTION
    assert summary(results[0]) == summary(results[1])
    alone = execute(world.local, world.local.executor, txs[:1])
    assert results[0].receipts[0].gas_used == alone.receipts[0].gas_used


def test_a_failed_call_undoes_what_its_callees_wrote_on_other_executors(world: World) -> None:
    """1 -> 2 (fails after its call to 3 succeeded): 3's write is undone on 3's executor too."""
    c1, c2, c3 = world.cells[:3]
    a = world.admin
    txs = [world.tx(a, c1, "try_call", c2, world.data("add_via_then_fail", c3, 5))]
    result = execute(world.local, DMCExecutor(world.local.suite, executors=3), txs)
    assert result.receipts[0].ok
    assert not [key for table, key in result.changes if key.startswith(c3) or key.startswith(c2)]
    assert summary(result) == summary(execute(world.local, world.local.executor, txs))


def test_warm_addresses_travel_with_calls_and_results_so_gas_equals_serial(world: World) -> None:
    """What a transaction warmed (EIP-2929) goes with its calls and comes back with their results:
    1 -> 2 -> 1 finds 1 warm; 1 -> 2 -> 3, then 1 -> 3 finds 3 warm."""
    c1, c2, c3 = world.cells[:3]
    a = world.admin
    for tx in (world.tx(a, c1, "try_call", c2, world.data("add_via", c1, 3)), world.tx(a, c1, "relay", c2, c3, 4)):
        result = execute(world.local, DMCExecutor(world.local.suite, executors=3), [tx])
        assert result.receipts[0].ok
        assert summary(result) == summary(execute(world.local, world.local.executor, [tx]))


def test_system_contracts_run_on_one_executor_and_keep_their_permissions(world: World) -> None:
    c1, c2 = world.cells[:2]
    a, user = world.admin, world.users[0]
    config = encode_call(world.local.suite, "setValueByKey(string,string)", "tx_count_limit", "777")
    txs = [world.tx(a, c1, "kv_set", "x", "1"), world.tx(user, c2, "kv_set", "y", "2"),
           world.tx(a, c1, "set_config", "600"),  # a contract is no admin, even when an admin calls it
           world.local.transaction(user, SYSTEM_CONFIG_ADDRESS, config),  # nor is an ordinary user
           world.local.transaction(a, SYSTEM_CONFIG_ADDRESS, config)]
    result = execute(world.local, DMCExecutor(world.local.suite, executors=2), txs)
    statuses = [r.status for r in result.receipts]
    assert statuses == [0, 0, 0, Status.PERMISSION_DENIED, 0]
    assert [world.abi.decode_output("set_config", result.receipts[2].output)[0]] == [False]
    assert summary(result) == summary(execute(world.local, world.local.executor, txs))


def test_an_auth_chains_permissions_hold_inside_dmc(cell_code: tuple[bytes, list[dict[str, object]]]) -> None:
    """A method ACL refuses the transaction's own frame and a frame a contract opens, as serially;
    a contract deployed in a DMC block is administered by its deployer."""
    from chain.abi.codec import ContractABI
    from chain.crypto.keys import KeyPair
    from chain.execution.local import LocalChain
    from chain.execution.precompiled import AUTH_MANAGER_ADDRESS
    from chain.ledger.genesis import AuthGenesis
    from tests.execution.dmc.blocks import deploy_cells

    bytecode, abi_json = cell_code
    governor, owner, stranger = (KeyPair("standard", n) for n in (0x6001, 0x0E1, 0x5E1))
    local = LocalChain("standard", auth=AuthGenesis(governors=((governor.address, 1),)))
    abi = ContractABI(local.suite, abi_json)
    front, guarded = deploy_cells(local, owner, bytecode, 2)
    add = abi.encode_call("add", 1)[:4]
    for signature, args in (("setMethodAuthType(address,bytes4,uint8)", (guarded, add, 1)),  # white list
                            ("openMethodAuth(address,bytes4,address)", (guarded, add, owner.address))):
        assert local.send(owner, AUTH_MANAGER_ADDRESS, encode_call(local.suite, signature, *args)).ok
    txs = [local.transaction(stranger, guarded, abi.encode_call("add", 1)),  # refused before it runs
           local.transaction(stranger, front, abi.encode_call("add_via", guarded, 2)),  # inner frame refused
           local.transaction(owner, front, abi.encode_call("add_via", guarded, 3)),  # allowed
           local.transaction(owner, b"", bytecode)]  # a deploy: owner administers it
    result = execute(local, DMCExecutor(local.suite, executors=2), txs)
    assert [r.status for r in result.receipts] == [Status.NO_CALL_PERMISSION, Status.REVERT_INSTRUCTION, 0, 0]
    assert summary(result) == summary(execute(local, local.executor, txs))
