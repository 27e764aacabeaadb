"""Which contract owns which rows: DMC's premise made explicit.

DMC runs different contracts at the same time because contracts share no data: a contract's
storage is read and written only by frames running that contract, one executor at a time. Here
every row of state has one owner, a *DMC contract key*:

* ``evm_code``, ``evm_account``, ``evm_storage`` rows belong to the address their key starts with;
* the system contracts' tables (system config, consensus nodes, admins, user KV tables...) belong
  to one key, ``SYSTEM``: FISCO BCOS runs its built-in precompiled contracts on system tables that
  several of them share (TableManager creates the tables KVTable writes), so they form one owner
  here and run on one executor, as one contract would.

A frame may read and write its own contract's rows (key-locked, see ``locks``). It may read, as
they were when the block started, other contracts' code and account rows (the CALL and EXTCODE*
instructions look at them; code does not change during a block except by creation) and the system
tables (an auth chain checks every frame against the permission tables): so a governance change
takes effect for contracts from the next block, where the serial executor applies it from the
next transaction. Any other access is refused (the frame fails). The Ethereum precompiles (0x01..) and the stateless Crypto contract (0x100a)
touch no rows and run inside the calling frame.
"""

from __future__ import annotations

from chain.execution.evm import ACCOUNT_TABLE, CODE_TABLE, STORAGE_TABLE
from chain.execution.precompiled import CONTRACT_CLASSES, CRYPTO_ADDRESS, SYSTEM_CONFIG_ADDRESS

EVM_TABLES = frozenset({CODE_TABLE, ACCOUNT_TABLE, STORAGE_TABLE})
SHARED_READ_TABLES = frozenset({CODE_TABLE, ACCOUNT_TABLE})  # other contracts' code and existence

SYSTEM = SYSTEM_CONFIG_ADDRESS  # the key of the one executor queue all stateful system contracts share
STATEFUL_SYSTEM_ADDRESSES = frozenset(cls.address for cls in CONTRACT_CLASSES) - {CRYPTO_ADDRESS}
# Ethereum's precompiles live at 0x01..0x11 (Prague); with Crypto they run in the caller's frame.
MAX_ETHEREUM_PRECOMPILE = 0x11


def contract_key(address: bytes) -> bytes:
    """The DMC contract (executor queue) that runs frames at address."""
    return SYSTEM if address in STATEFUL_SYSTEM_ADDRESSES else address


def row_owner(table: str, key: bytes) -> bytes:
    """The DMC contract whose frames may touch the row."""
    if table in EVM_TABLES:
        return contract_key(key[:20])
    return SYSTEM


def runs_in_caller(address: bytes) -> bool:
    """A precompile without state: no need to pause the caller for it."""
    if address == CRYPTO_ADDRESS:
        return True
    return address[:19] == bytes(19) and 0 < address[19] <= MAX_ETHEREUM_PRECOMPILE
