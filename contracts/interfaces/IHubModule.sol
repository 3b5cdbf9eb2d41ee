// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IHubModule
/// @notice Errors shared by every module that only the {NetworkHub} (and, where stated, the
/// {WorkLedger} wired into the hub) may change.
interface IHubModule {
    /// @notice The caller is neither the hub nor, where allowed, the hub's work ledger.
    /// @param caller The rejected `msg.sender`.
    error HubModuleUnauthorized(address caller);

    /// @notice A constructor argument that must be a contract address was zero.
    error HubModuleZeroAddress();

    /// @notice The hub this module obeys (immutable).
    function hub() external view returns (address);
}
