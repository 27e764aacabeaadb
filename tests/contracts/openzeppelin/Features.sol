// SPDX-License-Identifier: MIT
// Solidity features the sm rewrite must get right: `new`, immutables, fallback/receive, try/catch on a custom
// error, .selector, abi.encodeWithSelector, type(I).interfaceId, msg.sig (tests/contracts/test_sm_dispatch.py).
pragma solidity ^0.8.20;
interface IThing { function ping(uint256 x) external returns (uint256); function pong() external view returns (bytes4); }
error Nope(uint256 code);
contract Child is IThing {
    uint256 public immutable born;
    event Pinged(uint256 x);
    constructor(uint256 b) { born = b; emit Pinged(b); }
    function ping(uint256 x) external returns (uint256) { emit Pinged(x); if (x == 13) revert Nope(x); return x + born; }
    function pong() external pure returns (bytes4) { return IThing.ping.selector; }
    function a1() external {} function a2() external {} function a3() external {} function a4() external {}
}
contract Factory {
    event Made(address child);
    Child public last;
    uint256 public got;
    receive() external payable {}
    fallback() external payable { got = 999; }
    function make(uint256 b) external returns (address) { last = new Child(b); emit Made(address(last)); return address(last); }
    function callIt(uint256 x) external returns (uint256) { return IThing(address(last)).ping(x); }
    function tryIt(uint256 x) external returns (uint256) {
        try last.ping(x) returns (uint256 v) { return v; } catch (bytes memory reason) {
            if (bytes4(reason) == Nope.selector) return 7; return 8; }
    }
    function encoded(uint256 x) external pure returns (bytes memory) { return abi.encodeWithSelector(IThing.ping.selector, x); }
    function iid() external pure returns (bytes4) { return type(IThing).interfaceId; }
    function sig() external pure returns (bytes4) { return msg.sig; }
    function b1() external {} function b2() external {} function b3() external {} function b4() external {} function b5() external {}
}
