"""TableManager (0x1002) and KVTable (0x1009): user key/value tables kept in the chain's state.

    TableManager.createKVTable(string tableName, string keyField, string valueField) returns (int32)
    KVTable.set(string tableName, string key, string value) returns (int32)     rows written (1)
    KVTable.get(string tableName, string key) returns (bool found, string value)

Simplification of FISCO BCOS 3.x: there, ``createKVTable`` deploys a per-table contract at its own
address and ``set``/``get`` are called on that address without a table name. Here one KVTable
contract at 0x1009 serves every table and takes the table name as its first argument, so the
interface is a single fixed file and no address has to be looked up. Tables and rows are state
rows like any other:

* ``s_tables``  key = table name (UTF-8)   value = RLP [key field, value field]
* ``u_<name>``  key = row key (UTF-8)      value = row value (UTF-8)

Anyone may create a table and write to it, as in FISCO BCOS with permission checks off.
"""

from __future__ import annotations

import re

from chain.execution import gas
from chain.execution.precompiled.base import CallContext, SystemContract, method, system_address
from chain.ledger import codec

TABLES_TABLE = "s_tables"
USER_TABLE_PREFIX = "u_"
NAME_PATTERN = re.compile(r"[A-Za-z0-9_$@]{1,50}")  # FISCO's table name characters and length
MAX_KEY_SIZE = 255  # bytes, FISCO's USER_TABLE_KEY_VALUE_MAX_LENGTH is 255 for keys
MAX_VALUE_SIZE = 16 * 1024 * 1024  # FISCO's USER_TABLE_FIELD_VALUE_MAX_LENGTH (16 MiB)


def user_table(name: str) -> str:
    return USER_TABLE_PREFIX + name


def _check_name(call: CallContext, what: str, name: str) -> None:
    # names are short identifiers so they are safe in table names and logs
    if not NAME_PATTERN.fullmatch(name):
        raise call.fail(f"{what} {name!r} must be 1-50 characters of [A-Za-z0-9_$@]")


def _require_table(call: CallContext, name: str) -> None:
    # rows only go into tables created through TableManager
    if call.journal.get(TABLES_TABLE, name.encode()) is None:
        raise call.fail(f"table {name!r} does not exist (create it with TableManager.createKVTable)")


class TableManagerContract(SystemContract):
    address = system_address(0x1002)
    name = "TableManager"

    @method("createKVTable(string,string,string)", ("int32",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def create_kv_table(self, call: CallContext, table: str, key_field: str, value_field: str) -> tuple[int]:
        _check_name(call, "table name", table)
        _check_name(call, "key field", key_field)
        _check_name(call, "value field", value_field)
        # a table is created once; its schema never changes
        if call.journal.get(TABLES_TABLE, table.encode()) is not None:
            raise call.fail(f"table {table!r} already exists")
        call.journal.set(TABLES_TABLE, table.encode(), codec.encode([key_field.encode(), value_field.encode()]))
        return (0,)


class KVTableContract(SystemContract):
    address = system_address(0x1009)
    name = "KVTable"

    @method("set(string,string,string)", ("int32",), gas=gas.PRECOMPILED_WRITE, writes=True)
    def set(self, call: CallContext, table: str, key: str, value: str) -> tuple[int]:
        _require_table(call, table)
        raw_key, raw_value = key.encode(), value.encode()
        # FISCO's key rules: non-empty, at most 255 bytes
        if not 0 < len(raw_key) <= MAX_KEY_SIZE:
            raise call.fail(f"key must be 1-{MAX_KEY_SIZE} bytes, got {len(raw_key)}")
        # values are bounded too, so one row cannot swell a block without limit
        if len(raw_value) > MAX_VALUE_SIZE:
            raise call.fail(f"value must be at most {MAX_VALUE_SIZE} bytes")
        call.charge(gas.TX_DATA_NONZERO * len(raw_value))
        call.journal.set(user_table(table), raw_key, raw_value)
        return (1,)

    @method("get(string,string)", ("bool", "string"), gas=gas.PRECOMPILED_READ)
    def get(self, call: CallContext, table: str, key: str) -> tuple[bool, str]:
        _require_table(call, table)
        raw = call.journal.get(user_table(table), key.encode())
        if raw is None:
            return False, ""
        return True, raw.decode()
