// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title PackedPausable
/// @notice OpenZeppelin's `Pausable` (5.x) with the same errors, events, modifiers and
/// `paused()`, whose flag the derived contract may read directly: declared as the last state
/// variable of this base, it packs with the derived contract's first variables, and a call that
/// reads those anyway gets the flag from the same SLOAD (see {NetworkHub}).
abstract contract PackedPausable {
    /// @dev True while paused. Internal so that a derived contract can read it together with the
    /// variables packed into its slot; only {_pause} and {_unpause} write it.
    bool internal _paused;

    /// @notice The pause was triggered by `account`.
    event Paused(address account);

    /// @notice The pause was lifted by `account`.
    event Unpaused(address account);

    /// @notice The operation failed because the contract is paused.
    error EnforcedPause();

    /// @notice The operation failed because the contract is not paused.
    error ExpectedPause();

    /// @dev Reverts with {EnforcedPause} while paused.
    modifier whenNotPaused() {
        if (_paused) revert EnforcedPause();
        _;
    }

    /// @notice True while paused.
    function paused() public view virtual returns (bool) {
        return _paused;
    }

    /// @dev Pauses. Requirements: not paused. Emits {Paused}.
    function _pause() internal virtual {
        if (_paused) revert EnforcedPause();
        _paused = true;
        emit Paused(msg.sender);
    }

    /// @dev Lifts the pause. Requirements: paused. Emits {Unpaused}.
    function _unpause() internal virtual {
        if (!_paused) revert ExpectedPause();
        _paused = false;
        emit Unpaused(msg.sender);
    }
}
