// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The classic first contract: one string, read with get(), changed with set().
contract HelloWorld {
    string private name;

    event NameChanged(address indexed by, string name);

    constructor() {
        name = "Hello, World!";
    }

    function get() external view returns (string memory) {
        return name;
    }

    function set(string calldata newName) external {
        require(bytes(newName).length > 0, "name must not be empty");
        name = newName;
        emit NameChanged(msg.sender, newName);
    }
}
