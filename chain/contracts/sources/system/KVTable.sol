// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.6.10 <0.9.0;

/// System contract at 0x1009: rows of every user KV table (the table name is the first argument,
/// a simplification of FISCO BCOS 3.x's one-address-per-table).
interface KVTable {
    function set(string calldata tableName, string calldata key, string calldata value) external returns (int32);
    function get(string calldata tableName, string calldata key) external view returns (bool, string memory);
}
