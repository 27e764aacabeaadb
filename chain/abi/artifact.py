"""A compiled contract, as the compilers write it and everything else (deployers, the console, benches) reads it.

One record for every source of contracts: the compilers fill every field; a contract read from a
FISCO-style ``.abi`` + ``.bin`` pair has no runtime code, suite or compiler to report, so those
default to empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

EVM_VERSION = "cancun"  # what the compilers target: the newest fork py-evm executes


@dataclass(frozen=True)
class Artifact:
    """One compiled contract for one suite."""

    name: str
    abi: tuple[Mapping[str, Any], ...]
    bytecode: bytes  # init code (deploy this, followed by constructor arguments)
    runtime: bytes = b""  # code left at the contract's address
    suite: str = ""
    compiler: str = ""  # e.g. "solc 0.8.30" or "vyper 0.4.3"

    def to_json(self) -> dict[str, Any]:
        return {
            "contractName": self.name, "suite": self.suite, "compiler": self.compiler, "evmVersion": EVM_VERSION,
            "abi": list(self.abi), "bytecode": self.bytecode.hex(), "deployedBytecode": self.runtime.hex(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Artifact:
        return cls(
            name=data["contractName"], abi=tuple(data["abi"]), bytecode=bytes.fromhex(data["bytecode"]),
            runtime=bytes.fromhex(data["deployedBytecode"]), suite=data["suite"], compiler=data["compiler"],
        )
