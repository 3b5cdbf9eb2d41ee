// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ILoraFaucet
/// @notice A testnet faucet: anyone may take `dripAmount` LORA once per `cooldown` seconds,
/// from a balance funded out of the deployment's genesis allocation (never minted here).
/// Deployed only when asked (`ape run deploy --faucet`); never on a production network.
interface ILoraFaucet {
    /// @notice `account` took a drip at `lastDrip`; the next one is possible at `availableAt`.
    error LoraFaucetCoolingDown(address account, uint256 availableAt);
    /// @notice The faucet holds `balance`, less than the drip `needed`.
    error LoraFaucetEmpty(uint256 balance, uint256 needed);
    /// @notice A drip amount of zero, or a zero address, was given.
    error LoraFaucetInvalidParams();

    /// @notice `account` received `amount` LORA.
    event Dripped(address indexed account, uint256 amount);
    /// @notice The drip amount and cooldown changed.
    event DripParamsSet(uint256 dripAmount, uint256 cooldown);
    /// @notice The owner took `amount` LORA back to `to`.
    event Withdrawn(address indexed to, uint256 amount);

    /// @notice The LORA token.
    function token() external view returns (address);
    /// @notice LORA (wei) per drip.
    function dripAmount() external view returns (uint256);
    /// @notice Seconds between two drips of one account.
    function cooldown() external view returns (uint256);
    /// @notice When `account` may take its next drip (0 if it never took one).
    function nextDripAt(address account) external view returns (uint256);

    /// @notice Sends {dripAmount} LORA to the caller.
    /// @dev Requirements: the caller's cooldown has passed; the faucet holds a drip.
    /// Emits {Dripped}.
    function drip() external;
    /// @notice Sets the drip amount and cooldown. Requirements: owner; `dripAmount > 0`.
    /// Emits {DripParamsSet}.
    function setDripParams(uint256 dripAmount, uint256 cooldown) external;
    /// @notice Sends `amount` LORA held by the faucet to `to`. Requirements: owner.
    /// Emits {Withdrawn}.
    function withdraw(address to, uint256 amount) external;
}
