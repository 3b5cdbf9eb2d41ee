// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ILoraToken} from "../interfaces/ILoraToken.sol";

/// @title LoraToken (LORA)
/// @notice The loranet work token: ERC-20 with EIP-2612 permit and ERC-5805 votes (the votes of
/// loranet's Governor), a hard cap of 1,000,000,000 tokens. Work is paid from pools' escrows, not
/// minted: minting is left only for emissions that governance decides, by holders of
/// `MINTER_ROLE` and within {mintAllowance}, a budget only `DEFAULT_ADMIN_ROLE` (the timelock)
/// sets. Anyone burns their own tokens (the stake manager burns slashed stake it holds); nobody
/// burns another account's tokens.
/// @dev Votes use block numbers as the clock (OpenZeppelin default), so governance works on any
/// EVM chain. Roles are managed by `DEFAULT_ADMIN_ROLE`, held by the timelock after deployment.
contract LoraToken is ERC20, ERC20Permit, ERC20Votes, AccessControl, ILoraToken {
    /// @notice Role allowed to mint new tokens (within {mintAllowance} and the cap).
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @dev 1e9 tokens with 18 decimals.
    uint256 private constant _CAP = 1_000_000_000 ether;

    /// @inheritdoc ILoraToken
    uint256 public mintAllowance;

    /// @param admin Receives `DEFAULT_ADMIN_ROLE`; grants the minter role and sets the allowance.
    constructor(address admin) ERC20("loranet", "LORA") ERC20Permit("loranet") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ILoraToken
    function cap() public pure returns (uint256) {
        return _CAP;
    }

    /// @inheritdoc ILoraToken
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        uint256 allowance = mintAllowance;
        if (amount > allowance) revert LoraTokenMintAllowanceExceeded(amount, allowance);
        unchecked {
            mintAllowance = allowance - amount; // amount <= allowance
        }
        _mint(to, amount);
    }

    /// @inheritdoc ILoraToken
    function setMintAllowance(uint256 allowance) external onlyRole(DEFAULT_ADMIN_ROLE) {
        mintAllowance = allowance;
        emit MintAllowanceSet(allowance);
    }

    /// @notice Burns `amount` of the caller's own tokens.
    /// @dev Emits {IERC20-Transfer} to the zero address.
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    /// @dev Every balance change passes here; the cap is checked on mint. ERC20Votes' own
    /// supply limit (2^208 - 1) is far above the cap, so the cap is the binding one.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
        if (from == address(0)) {
            uint256 supply = totalSupply();
            if (supply > _CAP) revert LoraTokenCapExceeded(supply, _CAP);
        }
    }

    /// @inheritdoc Nonces
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
