"""Transactions in the FISCO BCOS 2.x RLP format (13 fields), for both crypto suites.

    [nonce, gasPrice, gasLimit, blockLimit, to, value, data, chainId, groupId, extraData, v, r, s]

The signer signs hash(RLP of the first 10 fields). What v means depends on the suite:

* standard: v = recovery id + 27 and the sender's key is recovered from (v, r, s);
* sm:       SM2 cannot recover a key, so v *is* the sender's 64-byte public key as an integer,
            written as exactly 64 bytes (FISCO writes the h512 as is, leading zeros included).

The nonce is FISCO's "randomid": a random 256-bit number that makes each transaction unique; replay
protection comes from it together with blockLimit (checked by the tx pool, not here).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from chain.crypto.keys import KeyPair
from chain.crypto.suite import CryptoSuite, StandardSuite
from chain.errors import InvalidSignature, LedgerError
from chain.ledger import codec

FIELD_NAMES = (
    "nonce", "gas_price", "gas_limit", "block_limit", "to", "value",
    "data", "chain_id", "group_id", "extra_data", "v", "r", "s",
)
MAX_DATA_SIZE = 1 << 20  # 1 MiB of call data / init code is more than any sample needs
DEFAULT_GAS_LIMIT = 300_000_000


@dataclass(frozen=True)
class Transaction:
    nonce: int
    gas_price: int
    gas_limit: int
    block_limit: int
    to: bytes
    value: int
    data: bytes
    chain_id: int
    group_id: int
    extra_data: bytes
    v: int = 0
    r: int = 0
    s: int = 0
    # Hashes are pure functions of the fields; remember them per suite so no one hashes twice.
    _memo: dict[str, bytes] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def is_create(self) -> bool:
        return self.to == b""

    @property
    def is_signed(self) -> bool:
        return self.r != 0 and self.s != 0

    def _fields(self) -> list[Any]:
        return [getattr(self, name) for name in FIELD_NAMES]

    def encode(self) -> bytes:
        if "raw" not in self._memo:
            fields = self._fields()
            fields[10] = encode_v(self.v)
            self._memo["raw"] = codec.encode(fields)
        return self._memo["raw"]

    @classmethod
    def decode(cls, raw: bytes) -> Transaction:
        """Parse a raw transaction, refusing anything malformed with a LedgerError.

        An Ethereum encoding (typed envelope, or a 9-item legacy list) is an ``EthTransaction``:
        blocks, the store, the pool and gossip all decode through here and get the right kind.
        """
        raw = bytes(raw)
        if raw[:1] and raw[0] < 0xC0:
            return _ethereum(raw)
        items = codec.decode_list(raw, "transaction")
        if len(items) == 9:
            return _ethereum(raw)
        items = codec.as_list(items, "transaction", len(FIELD_NAMES))
        to = codec.as_bytes(items[4], "transaction.to")
        if len(to) not in (0, 20):  # an address, or empty for contract creation
            raise LedgerError(f"transaction.to: expected 20 bytes or empty, got {len(to)}")
        tx = cls(
            nonce=codec.as_int(items[0], "transaction.nonce"),
            gas_price=codec.as_int(items[1], "transaction.gasPrice"),
            gas_limit=codec.as_int(items[2], "transaction.gasLimit"),
            block_limit=codec.as_int(items[3], "transaction.blockLimit", max_bits=64),
            to=to,
            value=codec.as_int(items[5], "transaction.value"),
            data=codec.as_bytes(items[6], "transaction.data", max_size=MAX_DATA_SIZE),
            chain_id=codec.as_int(items[7], "transaction.chainId", max_bits=64),
            group_id=codec.as_int(items[8], "transaction.groupId", max_bits=64),
            extra_data=codec.as_bytes(items[9], "transaction.extraData", max_size=MAX_DATA_SIZE),
            v=decode_v(items[10]),
            r=codec.as_int(items[11], "transaction.r"),
            s=codec.as_int(items[12], "transaction.s"),
        )
        tx._memo["raw"] = bytes(raw)
        return tx

    def signing_hash(self, suite: CryptoSuite) -> bytes:
        """What the sender signs: hash of the RLP of the first ten fields."""
        key = f"signing:{suite.name}"
        if key not in self._memo:
            self._memo[key] = suite.hash(codec.encode(self._fields()[:10]))
        return self._memo[key]

    def hash(self, suite: CryptoSuite) -> bytes:
        """The transaction hash: hash of the full signed encoding."""
        key = f"hash:{suite.name}"
        if key not in self._memo:
            self._memo[key] = suite.hash(self.encode())
        return self._memo[key]

    def signature_bytes(self, suite: CryptoSuite) -> bytes:
        """(v, r, s) in the suite's signature layout; InvalidSignature if they cannot be one."""
        if not self.is_signed:
            raise InvalidSignature("transaction is not signed")
        if self.r >= 1 << 256 or self.s >= 1 << 256:
            raise InvalidSignature("transaction r or s is larger than 256 bits")
        rs = self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big")
        if isinstance(suite, StandardSuite):
            if self.v not in (27, 28):  # FISCO 2.x / Ethereum pre-EIP-155 convention
                raise InvalidSignature(f"standard transaction v must be 27 or 28, got {self.v}")
            return rs + bytes([self.v - 27])
        if self.v >= 1 << 512:
            raise InvalidSignature("sm transaction v must be a 64-byte public key")
        return rs + self.v.to_bytes(64, "big")  # left-padded to 64 bytes

    def sender_public_key(self, suite: CryptoSuite) -> bytes:
        """The signer's 64-byte public key, checked against the signature (InvalidSignature if not)."""
        key = f"sender:{suite.name}"
        if key not in self._memo:
            try:
                self._memo[key] = suite.recover(self.signing_hash(suite), self.signature_bytes(suite))
            except InvalidSignature:
                raise
            except Exception as exc:  # a malformed signature is an invalid one, said precisely
                raise InvalidSignature(f"transaction signature is malformed: {exc}") from exc
        return self._memo[key]

    def sender(self, suite: CryptoSuite) -> bytes:
        """The sender's 20-byte address."""
        return suite.address(self.sender_public_key(suite))


def _ethereum(raw: bytes) -> Transaction:
    from chain.ledger.eth_transaction import EthTransaction  # it subclasses Transaction

    return EthTransaction.decode(raw)


def encode_v(v: int) -> bytes:
    """v on the wire: an sm public key is its fixed 64 bytes (FISCO writes the h512 as is, leading
    zero bytes included); a standard recovery id (27/28) is an ordinary canonical integer."""
    if not 0 <= v < 1 << 512:  # no public key or recovery id is this large
        raise LedgerError("transaction.v does not fit in 64 bytes")
    if v >= 1 << 256:
        return v.to_bytes(64, "big")
    return v.to_bytes((v.bit_length() + 7) // 8, "big")


def decode_v(item: object) -> int:
    """The inverse of encode_v, refusing every other spelling so that each v has one encoding."""
    data = codec.as_bytes(item, "transaction.v")
    if len(data) == 64:
        v = int.from_bytes(data, "big")
        if v < 1 << 256:  # would have been written as a short integer
            raise LedgerError("transaction.v: non-canonical 64-byte form of a small integer")
        return v
    return codec.as_int(data, "transaction.v", max_bits=256)


def new_transaction(
    *,
    to: bytes,
    data: bytes,
    block_limit: int,
    chain_id: int = 1,
    group_id: int = 1,
    nonce: int | None = None,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    value: int = 0,
    extra_data: bytes = b"",
    gas_price: int = 0,
) -> Transaction:
    """An unsigned transaction with a fresh random nonce (FISCO's randomid) unless one is given."""
    return Transaction(
        nonce=secrets.randbits(255) if nonce is None else nonce,
        gas_price=gas_price,
        gas_limit=gas_limit,
        block_limit=block_limit,
        to=to,
        value=value,
        data=data,
        chain_id=chain_id,
        group_id=group_id,
        extra_data=extra_data,
    )


def sign_transaction(tx: Transaction, key: KeyPair) -> Transaction:
    """A copy of tx signed by key in key's suite."""
    suite = key.suite
    unsigned = replace(tx, v=0, r=0, s=0)
    signature = suite.sign(key.secret, unsigned.signing_hash(suite))
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if isinstance(suite, StandardSuite):
        v = signature[64] + 27
    else:
        v = int.from_bytes(signature[64:], "big")
    signed = replace(unsigned, v=v, r=r, s=s)
    signed._memo[f"sender:{suite.name}"] = key.public_key
    return signed
