"""Lesson 11's worked example: serial, DAG-style and DMC on one block."""

from __future__ import annotations

from chain.execution.dmc.example import dag_levels, describe, run_example


def test_dag_keeps_block_order_only_between_transactions_that_declared_a_shared_resource() -> None:
    assert dag_levels([{1}, {1, 3}, {2}, {3}, {2}, {3}]) == [[1, 3], [2, 5], [4], [6]]
    assert dag_levels([{1}, {2}, {3}]) == [[1, 2, 3]]


def test_the_worked_example_three_ways() -> None:
    example = run_example(executors=3)
    assert example.serial.totals == [[1], [5], [2], [8], [6], [14]]
    assert example.dmc.totals == [[1], [14], [2], [3], [6], [9]]  # 2's call reached contract 3 after 4 and 6
    assert [len(stage.contracts) for stage in example.stages] == [3, 1, 1]
    assert any("receipts differ" in line for line in describe(example))
