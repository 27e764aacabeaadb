"""FISCO BCOS 3.x system contracts, as Python precompiles at their fixed addresses.

| address | contract | what it governs |
|---|---|---|
| 0x1000 | SystemConfig | tx_count_limit, tx_gas_limit, consensus_leader_period |
| 0x1002 | TableManager | creating user KV tables |
| 0x1003 | Consensus | the sealer / observer list and weights |
| 0x1009 | KVTable | rows of user KV tables |
| 0x100a | Crypto | sm3, keccak256Hash, sm2Verify |
| 0x1005 | ContractAuth | deploy policy, contract admins, method ACLs, contract freeze (auth chains) |
| 0x10001 | CommitteeManager | governors, proposals and votes (auth chains) |
| 0x10003 | AccountManager | freezing and abolishing accounts (auth chains) |

Solidity interfaces for all of them are in ``chain/contracts/sources/system/``.
"""

from __future__ import annotations

from functools import lru_cache

from chain.crypto.suite import CryptoSuite
from chain.execution.precompiled.account import AccountManagerContract
from chain.execution.precompiled.auth import AuthManagerContract
from chain.execution.precompiled.base import PrecompiledFailure, SystemContract, system_address
from chain.execution.precompiled.committee import CommitteeManagerContract
from chain.execution.precompiled.consensus import ConsensusContract
from chain.execution.precompiled.crypto import CryptoContract
from chain.execution.precompiled.system_config import SystemConfigContract
from chain.execution.precompiled.table import KVTableContract, TableManagerContract

SYSTEM_CONFIG_ADDRESS = SystemConfigContract.address
TABLE_MANAGER_ADDRESS = TableManagerContract.address
CONSENSUS_ADDRESS = ConsensusContract.address
KV_TABLE_ADDRESS = KVTableContract.address
CRYPTO_ADDRESS = CryptoContract.address
AUTH_MANAGER_ADDRESS = AuthManagerContract.address
COMMITTEE_MANAGER_ADDRESS = CommitteeManagerContract.address
ACCOUNT_MANAGER_ADDRESS = AccountManagerContract.address

CONTRACT_CLASSES: tuple[type[SystemContract], ...] = (
    SystemConfigContract, TableManagerContract, ConsensusContract, KVTableContract, CryptoContract,
    AuthManagerContract, CommitteeManagerContract, AccountManagerContract,
)


@lru_cache(maxsize=None)
def system_contracts(suite: CryptoSuite) -> dict[bytes, SystemContract]:
    """address -> system contract, with selectors computed in the suite."""
    return {cls.address: cls(suite) for cls in CONTRACT_CLASSES}


__all__ = [
    "ACCOUNT_MANAGER_ADDRESS", "AUTH_MANAGER_ADDRESS", "COMMITTEE_MANAGER_ADDRESS", "CONSENSUS_ADDRESS", "CRYPTO_ADDRESS", "KV_TABLE_ADDRESS", "PrecompiledFailure", "SYSTEM_CONFIG_ADDRESS",
    "SystemContract", "TABLE_MANAGER_ADDRESS", "system_address", "system_contracts",
]
