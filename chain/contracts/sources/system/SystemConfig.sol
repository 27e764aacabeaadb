// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.6.10 <0.9.0;

/// System contract at 0x1000: tx_count_limit, tx_gas_limit, consensus_leader_period.
/// setValueByKey is for governance admins only; the new value is in force from the next block.
interface SystemConfig {
    function setValueByKey(string calldata key, string calldata value) external returns (int32);
    function getValueByKey(string calldata key) external view returns (string memory, int256);
}
