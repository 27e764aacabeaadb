// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import "./system/TableManager.sol";
import "./system/KVTable.sol";

/// A contract keeping its data in a KV table of the chain (system contracts 0x1002 and 0x1009),
/// where anyone can also read it with KVTable.get, without this contract's ABI.
contract KVStore {
    TableManager private constant TABLE_MANAGER = TableManager(address(0x1002));
    KVTable private constant KV_TABLE = KVTable(address(0x1009));

    string private table;

    event Stored(string key, string value);

    constructor(string memory tableName) {
        table = tableName;
        int32 code = TABLE_MANAGER.createKVTable(tableName, "key", "value");
        require(code == 0, "cannot create the table");
    }

    function set(string calldata key, string calldata value) external {
        KV_TABLE.set(table, key, value);
        emit Stored(key, value);
    }

    function get(string calldata key) external view returns (bool, string memory) {
        return KV_TABLE.get(table, key);
    }
}
