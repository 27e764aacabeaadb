"""Fixed keys and a fresh in-process chain per suite (shared with the other contract-running tests),
and OpenZeppelin's contracts compiled once per session for both suites."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chain.abi.artifact import Artifact
from chain.crypto.suite import get_suite
from chain.sdk.compiler import compile_file, find_openzeppelin, find_solcjs
from tests.local_chain_fixtures import admin, chain, suite_name, user

__all__ = ["admin", "chain", "suite_name", "user", "openzeppelin", "TOKENS"]

TOKENS = Path(__file__).parent / "openzeppelin" / "Tokens.sol"


@pytest.fixture(scope="session")
def openzeppelin() -> dict[str, dict[str, Artifact]]:
    """{suite: {contract: artifact}} of openzeppelin/Tokens.sol (solc's output is also cached on disk)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Solidity needs node and npm (solc-js, OpenZeppelin's contracts)")
    find_solcjs()
    find_openzeppelin()
    return {suite: compile_file(TOKENS, get_suite(suite)) for suite in ("standard", "sm")}
