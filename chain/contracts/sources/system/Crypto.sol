// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.6.10 <0.9.0;

/// System contract at 0x100a: both suites' hashes, SM2 verification and the VRF check, whatever the chain's suite.
interface Crypto {
    function sm3(bytes calldata data) external view returns (bytes32);
    function keccak256Hash(bytes calldata data) external view returns (bytes32);
    function sm2Verify(bytes32 message, bytes calldata publicKey, bytes32 r, bytes32 s)
        external view returns (bool, address);
    /// FISCO 3.x: (true, the VRF output as uint256) when `proof` is right for `publicKey` and `message`
    function curve25519VRFVerify(bytes calldata message, bytes calldata publicKey, bytes calldata proof)
        external view returns (bool, uint256);
}
