"""SystemConfig (0x1000): the chain's tunable parameters, changed by governance transactions.

    setValueByKey(string key, string value) returns (int32)      admins only; 0 on success
    getValueByKey(string key) returns (string value, int256 enableNumber)

A value written while executing block N is stamped N + 1 (``chain.ledger.system``), so every node
switches at the same height and block N itself still runs under the old value.
"""

from __future__ import annotations

from chain.execution import gas
from chain.execution.precompiled.base import CallContext, SystemContract, method, system_address
from chain.ledger import system

MAX_VALUE = (1 << 63) - 1

# The keys governance may set, each with its smallest allowed value (FISCO BCOS's lower bounds).
SETTABLE: dict[str, int] = {
    system.TX_COUNT_LIMIT: 1,  # a block must be able to hold a transaction
    system.TX_GAS_LIMIT: 100_000,  # FISCO's TX_GAS_LIMIT_MIN: enough for any simple transaction
    system.LEADER_PERIOD: 1,  # a leader proposes at least one block
    system.BLOCK_GAS_LIMIT: 100_000,  # ours; below it only one-transaction blocks could be made anyway
}


class SystemConfigContract(SystemContract):
    address = system_address(0x1000)
    name = "SystemConfig"

    @method("setValueByKey(string,string)", ("int32",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def set_value_by_key(self, call: CallContext, key: str, value: str) -> tuple[int]:
        call.require_admin()
        # only known, tunable keys: a typo must not silently create a dead row
        if key not in SETTABLE:
            raise call.fail(f"unsupported system config key {key!r}; settable: {sorted(SETTABLE)}")
        # a plain decimal integer, as FISCO stores them
        if not value.isascii() or not value.isdigit():
            raise call.fail(f"{key} must be a decimal integer, got {value!r}")
        number = int(value)
        # within the key's range
        if not SETTABLE[key] <= number <= MAX_VALUE:
            raise call.fail(f"{key} must be between {SETTABLE[key]} and {MAX_VALUE}, got {number}")
        row = system.encode_config_row(str(number), call.block_number + 1)
        call.journal.set(system.CONFIG_TABLE, key.encode(), row)
        return (0,)

    @method("getValueByKey(string)", ("string", "int256"), gas=gas.PRECOMPILED_READ)
    def get_value_by_key(self, call: CallContext, key: str) -> tuple[str, int]:
        # only keys the chain knows
        if key not in system.DEFAULT_CONFIG:
            raise call.fail(f"unknown system config key {key!r}")
        # a stored value not in force yet reads as the default, enabled from 0
        return system.config_entry(call.journal, key, call.block_number)
