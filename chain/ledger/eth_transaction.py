"""Ethereum transactions, as ``eth-account`` signs them, carried beside FISCO's own.

Three encodings are accepted (EIP-2718 tells them apart by the first byte):

* legacy, EIP-155:   RLP [nonce, gasPrice, gas, to, value, data, v, r, s], v = chainId*2 + 35 + recid;
                     signs keccak(RLP [nonce, gasPrice, gas, to, value, data, chainId, 0, 0])
* EIP-2930 (type 1): 0x01 ‖ RLP [chainId, nonce, gasPrice, gas, to, value, data, accessList, yParity, r, s]
* EIP-1559 (type 2): 0x02 ‖ RLP [chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data,
                     accessList, yParity, r, s]; both typed kinds sign keccak(type ‖ RLP of all
                     fields but the last three)

How a block tells them from FISCO's 13-field transactions: a FISCO transaction is an RLP list of
13 items; a typed Ethereum one starts with a byte below 0xc0 (never an RLP list); a legacy one is
an RLP list of 9 items. ``Transaction.decode`` looks at exactly that and hands Ethereum encodings
here, so every reader of blocks, the store, the pool and gossip gets the right kind without
knowing there are two. Each kind hashes the same way: keccak of its own encoding, which is
Ethereum's transaction hash and FISCO's (standard suite) at once.

``EthTransaction`` is a ``Transaction`` (same field names, so FISCO's RPC views show it) with
``block_limit`` 0 and ``group_id`` 0: replay protection is the sender's sequential nonce, which
the pool and the executor check against the account's nonce in state, not FISCO's
randomid + blockLimit window. Pre-EIP-155 legacy transactions (v = 27/28, no chain id) are
refused: they could be replayed on any chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chain.crypto.suite import CryptoSuite, StandardSuite
from chain.errors import InvalidSignature, LedgerError
from chain.ledger import codec
from chain.ledger.transaction import MAX_DATA_SIZE, Transaction

LEGACY, ACCESS_LIST, DYNAMIC_FEE = 0, 1, 2
TYPED_KINDS = (ACCESS_LIST, DYNAMIC_FEE)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MAX_ETH_TX_SIZE = 128 * 1024  # go-ethereum's txMaxSize: what one client can make every node carry


def is_ethereum_encoding(raw: bytes, items: list[Any] | None = None) -> bool:
    """True for a typed envelope (first byte < 0xc0) or a 9-item legacy list."""
    if not raw:
        return False
    if raw[0] < 0xC0:
        return True
    return items is not None and len(items) == 9


@dataclass(frozen=True)
class EthTransaction(Transaction):
    tx_type: int = LEGACY
    max_priority_fee: int = 0  # EIP-1559 only; gas_price holds maxFeePerGas there
    access_list: tuple[tuple[bytes, tuple[bytes, ...]], ...] = ()

    @property
    def recovery_id(self) -> int:
        if self.tx_type == LEGACY:
            return self.v - 35 - 2 * self.chain_id
        return self.v

    def _payload(self, signed: bool) -> list[Any]:
        access = [[address, list(keys)] for address, keys in self.access_list]
        if self.tx_type == LEGACY:
            head = [self.nonce, self.gas_price, self.gas_limit, self.to, self.value, self.data]
            return head + ([self.v, self.r, self.s] if signed else [self.chain_id, 0, 0])
        if self.tx_type == ACCESS_LIST:
            fields = [self.chain_id, self.nonce, self.gas_price, self.gas_limit, self.to, self.value, self.data, access]
        else:
            fields = [self.chain_id, self.nonce, self.max_priority_fee, self.gas_price, self.gas_limit,
                      self.to, self.value, self.data, access]
        return fields + ([self.v, self.r, self.s] if signed else [])

    def _envelope(self, signed: bool) -> bytes:
        body = codec.encode(self._payload(signed))
        return body if self.tx_type == LEGACY else bytes([self.tx_type]) + body

    def encode(self) -> bytes:
        if "raw" not in self._memo:
            self._memo["raw"] = self._envelope(signed=True)
        return self._memo["raw"]

    @classmethod
    def decode(cls, raw: bytes) -> EthTransaction:
        """Parse an Ethereum raw transaction, refusing anything malformed with a LedgerError."""
        raw = bytes(raw)
        if not raw:
            raise LedgerError("ethereum transaction: empty")
        if raw[0] >= 0xC0:
            tx = cls._decode_legacy(codec.decode_list(raw, "ethereum transaction", 9))
        elif raw[0] in TYPED_KINDS:
            tx = cls._decode_typed(raw[0], raw[1:])
        else:
            raise LedgerError(f"ethereum transaction: unsupported type 0x{raw[0]:02x}")
        tx._memo["raw"] = raw
        return tx

    @classmethod
    def _decode_legacy(cls, items: list[Any]) -> EthTransaction:
        v = codec.as_int(items[6], "transaction.v", max_bits=256)
        # EIP-155: only a signature that names its chain is accepted (27/28 would replay anywhere)
        if v < 37:
            raise LedgerError(f"transaction.v {v}: only EIP-155 (chain id in v) legacy transactions are accepted")
        return cls(
            nonce=codec.as_int(items[0], "transaction.nonce", max_bits=64),
            gas_price=codec.as_int(items[1], "transaction.gasPrice"),
            gas_limit=codec.as_int(items[2], "transaction.gas", max_bits=64),
            block_limit=0, to=_to(items[3]),
            value=codec.as_int(items[4], "transaction.value"),
            data=codec.as_bytes(items[5], "transaction.data", max_size=MAX_DATA_SIZE),
            chain_id=(v - 35) // 2, group_id=0, extra_data=b"",
            v=v, r=codec.as_int(items[7], "transaction.r"), s=codec.as_int(items[8], "transaction.s"),
            tx_type=LEGACY,
        )

    @classmethod
    def _decode_typed(cls, kind: int, body: bytes) -> EthTransaction:
        length = 11 if kind == ACCESS_LIST else 12
        items = codec.decode_list(body, f"type {kind} transaction", length)
        if kind == ACCESS_LIST:
            priority, fee_at, rest = None, 2, 3
        else:
            priority, fee_at, rest = items[2], 3, 4
        y_parity = codec.as_int(items[rest + 5], "transaction.yParity", max_bits=8)
        if y_parity > 1:
            raise LedgerError(f"transaction.yParity must be 0 or 1, got {y_parity}")
        return cls(
            chain_id=codec.as_int(items[0], "transaction.chainId", max_bits=64),
            nonce=codec.as_int(items[1], "transaction.nonce", max_bits=64),
            max_priority_fee=0 if priority is None else codec.as_int(priority, "transaction.maxPriorityFeePerGas"),
            gas_price=codec.as_int(items[fee_at], "transaction.gasPrice"),
            gas_limit=codec.as_int(items[rest], "transaction.gas", max_bits=64),
            to=_to(items[rest + 1]),
            value=codec.as_int(items[rest + 2], "transaction.value"),
            data=codec.as_bytes(items[rest + 3], "transaction.data", max_size=MAX_DATA_SIZE),
            access_list=_access_list(items[rest + 4]),
            block_limit=0, group_id=0, extra_data=b"",
            v=y_parity,
            r=codec.as_int(items[rest + 6], "transaction.r"),
            s=codec.as_int(items[rest + 7], "transaction.s"),
            tx_type=kind,
        )

    def signing_hash(self, suite: CryptoSuite) -> bytes:
        """keccak of the unsigned envelope (EIP-155 / EIP-2718)."""
        key = f"signing:{suite.name}"
        if key not in self._memo:
            self._memo[key] = suite.hash(self._envelope(signed=False))
        return self._memo[key]

    def signature_bytes(self, suite: CryptoSuite) -> bytes:
        # Ethereum transactions are secp256k1 + keccak: an sm chain cannot verify them.
        if not isinstance(suite, StandardSuite):
            raise InvalidSignature("ethereum transactions are accepted only on a standard-suite chain")
        if not self.is_signed:
            raise InvalidSignature("transaction is not signed")
        # r and s must be valid scalars, s in the lower half (EIP-2), or one signature has two forms.
        if not (0 < self.r < SECP256K1_N and 0 < self.s <= SECP256K1_N // 2):
            raise InvalidSignature("invalid signature values (r, s out of range or s not in the lower half, EIP-2)")
        if self.recovery_id not in (0, 1):
            raise InvalidSignature(f"invalid signature: recovery id {self.recovery_id}")
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.recovery_id])


def _to(item: object) -> bytes:
    to = codec.as_bytes(item, "transaction.to")
    if len(to) not in (0, 20):  # an address, or empty for contract creation
        raise LedgerError(f"transaction.to: expected 20 bytes or empty, got {len(to)}")
    return to


def _access_list(item: object) -> tuple[tuple[bytes, tuple[bytes, ...]], ...]:
    entries = []
    for entry in codec.as_list(item, "transaction.accessList"):
        pair = codec.as_list(entry, "transaction.accessList entry", 2)
        keys = tuple(codec.as_bytes(k, "transaction.accessList key", size=32)
                     for k in codec.as_list(pair[1], "transaction.accessList keys"))
        entries.append((codec.as_bytes(pair[0], "transaction.accessList address", size=20), keys))
    return tuple(entries)
