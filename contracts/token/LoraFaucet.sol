// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ILoraFaucet} from "../interfaces/ILoraFaucet.sol";

/// @title LoraFaucet
/// @notice Testnet LORA for providers: a fixed drip per address per cooldown, paid from the
/// faucet's balance (funded from the genesis allocation at deployment).
contract LoraFaucet is ILoraFaucet, Ownable {
    using SafeERC20 for IERC20;

    IERC20 private immutable _token;
    uint256 public dripAmount;
    uint256 public cooldown;
    mapping(address account => uint256) public nextDripAt;

    /// @param token_ The LORA token.
    /// @param owner_ May change the drip and withdraw the balance.
    /// @param dripAmount_ LORA (wei) per drip (> 0).
    /// @param cooldown_ Seconds between two drips of one account.
    constructor(IERC20 token_, address owner_, uint256 dripAmount_, uint256 cooldown_) Ownable(owner_) {
        if (address(token_) == address(0) || dripAmount_ == 0) revert LoraFaucetInvalidParams();
        _token = token_;
        dripAmount = dripAmount_;
        cooldown = cooldown_;
        emit DripParamsSet(dripAmount_, cooldown_);
    }

    /// @inheritdoc ILoraFaucet
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ILoraFaucet
    function drip() external {
        uint256 availableAt = nextDripAt[msg.sender];
        if (block.timestamp < availableAt) revert LoraFaucetCoolingDown(msg.sender, availableAt);
        uint256 amount = dripAmount;
        uint256 balance = _token.balanceOf(address(this));
        if (balance < amount) revert LoraFaucetEmpty(balance, amount);
        nextDripAt[msg.sender] = block.timestamp + cooldown;
        _token.safeTransfer(msg.sender, amount);
        emit Dripped(msg.sender, amount);
    }

    /// @inheritdoc ILoraFaucet
    function setDripParams(uint256 dripAmount_, uint256 cooldown_) external onlyOwner {
        if (dripAmount_ == 0) revert LoraFaucetInvalidParams();
        dripAmount = dripAmount_;
        cooldown = cooldown_;
        emit DripParamsSet(dripAmount_, cooldown_);
    }

    /// @inheritdoc ILoraFaucet
    function withdraw(address to, uint256 amount) external onlyOwner {
        if (to == address(0)) revert LoraFaucetInvalidParams();
        _token.safeTransfer(to, amount);
        emit Withdrawn(to, amount);
    }
}
