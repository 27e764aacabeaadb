"""Fixed keys and a fresh in-process chain per suite (shared with the other contract-running tests)."""

from tests.local_chain_fixtures import admin, chain, suite_name, user

__all__ = ["admin", "chain", "suite_name", "user"]
