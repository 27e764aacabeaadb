"""Fixtures of the DMC tests: the Cell contract (vyper, compiled once), deployed four times on an
in-process chain whose state the tests never change (each block runs on a snapshot)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chain.abi.codec import ContractABI
from chain.crypto.keys import KeyPair
from chain.execution.local import LocalChain
from chain.execution.precompiled import TABLE_MANAGER_ADDRESS
from chain.abi.codec import encode_call
from chain.ledger.transaction import Transaction
from tests.execution.dmc.blocks import deploy_cells

CELL_SOURCE = Path(__file__).with_name("cell.vy")


@dataclass(frozen=True)
class World:
    """A chain with four Cells (sorted by address: cells[0] is the lowest), an admin and users."""

    local: LocalChain
    abi: ContractABI
    cells: list[bytes]
    admin: KeyPair
    users: list[KeyPair]

    def tx(self, key: KeyPair, to: bytes, fn: str, *args: Any) -> Transaction:
        return self.local.transaction(key, to, self.abi.encode_call(fn, *args))

    def data(self, fn: str, *args: Any) -> bytes:
        return self.abi.encode_call(fn, *args)


@pytest.fixture(scope="session")
def cell_code() -> tuple[bytes, list[dict[str, object]]]:
    from vyper import compile_code

    out = compile_code(CELL_SOURCE.read_text(), output_formats=["bytecode", "abi"])
    return bytes.fromhex(out["bytecode"].removeprefix("0x")), out["abi"]


@pytest.fixture(scope="session")
def world(cell_code: tuple[bytes, list[dict[str, object]]]) -> World:
    bytecode, abi = cell_code
    admin = KeyPair("standard", 0xA11CE)
    local = LocalChain("standard", admins=[admin.address])
    cells = sorted(deploy_cells(local, admin, bytecode, 4))
    receipt = local.send(admin, TABLE_MANAGER_ADDRESS,
                         encode_call(local.suite, "createKVTable(string,string,string)", "t_dmc", "k", "v"))
    assert receipt.ok
    return World(local, ContractABI(local.suite, abi), cells, admin, [KeyPair("standard", 0xB0B + i) for i in range(4)])
