// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// A minimal asset: the deployer issues units, holders transfer them.
contract Asset {
    address public issuer;
    mapping(address => uint256) private balances;

    event Transfer(address indexed from, address indexed to, uint256 amount);

    constructor() {
        issuer = msg.sender;
    }

    /// New units for `to`; only the issuer may create them (shown as a transfer from address 0).
    function issue(address to, uint256 amount) external {
        require(msg.sender == issuer, "only the issuer can issue");
        balances[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function transfer(address to, uint256 amount) external {
        require(balances[msg.sender] >= amount, "insufficient balance");
        balances[msg.sender] -= amount;
        balances[to] += amount;
        emit Transfer(msg.sender, to, amount);
    }

    function balanceOf(address owner) external view returns (uint256) {
        return balances[owner];
    }
}
