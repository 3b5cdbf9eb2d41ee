// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ILoraToken
/// @notice Errors and events of the loranet token beyond those of ERC-20, ERC-2612 and ERC-5805.
interface ILoraToken {
    /// @notice A mint would push the total supply over the hard cap.
    /// @param increasedSupply The total supply the mint would have produced.
    /// @param cap The hard cap.
    error LoraTokenCapExceeded(uint256 increasedSupply, uint256 cap);

    /// @notice The hard cap on the total supply, in wei (1e9 tokens with 18 decimals).
    function cap() external view returns (uint256);

    /// @notice Mints `amount` tokens to `to`.
    /// @dev Requirements: caller has `MINTER_ROLE`; `totalSupply() + amount <= cap()`.
    /// Emits {IERC20-Transfer} from the zero address.
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` tokens held by `from` without an allowance.
    /// @dev Used by the stake manager to burn slashed stake it holds. Requirements: caller has
    /// `BURNER_ROLE`; `from` holds at least `amount`. Emits {IERC20-Transfer} to the zero address.
    function burnFrom(address from, uint256 amount) external;

    /// @notice Burns `amount` of the caller's own tokens (the stake manager burns slashed stake
    /// this way). Emits {IERC20-Transfer} to the zero address.
    function burn(uint256 amount) external;
}
