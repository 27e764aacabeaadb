// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.6.10 <0.9.0;

/// System contract at 0x1003: the consensus node list (node id = 128 hex digits of the public key).
/// Governance admins only; changes are in force from the next block. A change leaving fewer than
/// 4 sealers needs the force variant; the last sealer can never be removed.
interface Consensus {
    function addSealer(string calldata nodeId, uint256 weight) external returns (int32);
    function addObserver(string calldata nodeId) external returns (int32);
    function remove(string calldata nodeId) external returns (int32);
    function setWeight(string calldata nodeId, uint256 weight) external returns (int32);
    function forceAddObserver(string calldata nodeId) external returns (int32);
    function forceRemove(string calldata nodeId) external returns (int32);
}
