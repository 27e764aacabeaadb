// SPDX-License-Identifier: MIT
// OpenZeppelin's ERC20, ERC721 and AccessControl as a user would deploy them (tests/contracts/test_openzeppelin.py).
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// An ERC20 whose minting is guarded by AccessControl's MINTER_ROLE.
contract Coin is ERC20, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    constructor() ERC20("Coin", "CN") {
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _grantRole(MINTER_ROLE, msg.sender);
    }

    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }
}

/// An ERC721 anyone may mint from (safely: a contract receiver must accept the token).
contract Card is ERC721 {
    constructor() ERC721("Card", "CD") {}

    function mint(address to, uint256 tokenId) external {
        _safeMint(to, tokenId);
    }
}

/// Accepts ERC721 tokens and logs what it was told.
contract Receiver is IERC721Receiver {
    event Accepted(address operator, address from, uint256 tokenId, bytes data);

    function onERC721Received(address operator, address from, uint256 tokenId, bytes calldata data)
        external returns (bytes4)
    {
        emit Accepted(operator, from, tokenId, data);
        return IERC721Receiver.onERC721Received.selector;
    }
}

/// A contract that cannot take ERC721 tokens (no onERC721Received).
contract Refuser {
    function nothing() external pure returns (uint256) {
        return 0;
    }
}
