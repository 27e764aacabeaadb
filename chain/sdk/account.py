"""An account: a key pair that signs transactions, loaded from a key file or made on the spot."""

from __future__ import annotations

import os
from dataclasses import dataclass

from chain.crypto.keys import KeyPair, load_private_key
from chain.crypto.suite import CryptoSuite
from chain.ledger.transaction import Transaction, sign_transaction


@dataclass(frozen=True)
class Account:
    key: KeyPair

    @classmethod
    def from_key_file(cls, path: str | os.PathLike[str], password: str | None = None) -> Account:
        """Load a PEM key file written by `chain keygen` (KeyFileError if it is corrupt or locked)."""
        return cls(load_private_key(path, password))

    @classmethod
    def generate(cls, suite_name: str) -> Account:
        return cls(KeyPair.generate(suite_name))

    @property
    def suite(self) -> CryptoSuite:
        return self.key.suite

    @property
    def address(self) -> bytes:
        return self.key.address

    @property
    def public_key(self) -> bytes:
        return self.key.public_key

    def sign(self, tx: Transaction) -> Transaction:
        return sign_transaction(tx, self.key)

    def __repr__(self) -> str:
        return f"<Account {self.key.suite_name} 0x{self.address.hex()}>"
