// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ILoraToken
/// @notice Errors and events of the loranet token beyond those of ERC-20, ERC-2612 and ERC-5805.
interface ILoraToken {
    /// @notice A mint would push the total supply over the hard cap.
    /// @param increasedSupply The total supply the mint would have produced.
    /// @param cap The hard cap.
    error LoraTokenCapExceeded(uint256 increasedSupply, uint256 cap);
    /// @notice A mint of `amount` exceeds the emission budget `allowance` governance left.
    error LoraTokenMintAllowanceExceeded(uint256 amount, uint256 allowance);

    /// @notice Governance set the emission budget to `allowance`.
    event MintAllowanceSet(uint256 allowance);

    /// @notice The hard cap on the total supply, in wei (1e9 tokens with 18 decimals).
    function cap() external view returns (uint256);

    /// @notice What holders of `MINTER_ROLE` may still mint (each mint spends it).
    function mintAllowance() external view returns (uint256);

    /// @notice Mints `amount` tokens to `to` (an emission decided by governance).
    /// @dev Requirements: caller has `MINTER_ROLE`; `amount <= mintAllowance()`;
    /// `totalSupply() + amount <= cap()`. Emits {IERC20-Transfer} from the zero address.
    function mint(address to, uint256 amount) external;

    /// @notice Sets the emission budget that mints spend. Requirements: `DEFAULT_ADMIN_ROLE`
    /// (the timelock). Emits {MintAllowanceSet}.
    function setMintAllowance(uint256 allowance) external;

    /// @notice Burns `amount` of the caller's own tokens (the stake manager burns slashed stake
    /// this way). Emits {IERC20-Transfer} to the zero address.
    function burn(uint256 amount) external;
}
