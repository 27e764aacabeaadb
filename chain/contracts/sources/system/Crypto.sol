// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.6.10 <0.9.0;

/// System contract at 0x100a: both suites' hashes and SM2 verification, whatever the chain's suite.
interface Crypto {
    function sm3(bytes calldata data) external view returns (bytes32);
    function keccak256Hash(bytes calldata data) external view returns (bytes32);
    function sm2Verify(bytes32 message, bytes calldata publicKey, bytes32 r, bytes32 s)
        external view returns (bool, address);
}
