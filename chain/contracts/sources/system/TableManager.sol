// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.6.10 <0.9.0;

// System contract at 0x1002: creates user KV tables (names: 1-50 letters, digits or _ $ @).
interface TableManager {
    function createKVTable(string calldata tableName, string calldata keyField, string calldata valueField)
        external returns (int32);
}
