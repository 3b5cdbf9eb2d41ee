// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title LoraTimelock
/// @notice OpenZeppelin's {TimelockController}, unchanged: after deployment it holds every admin
/// role of loranet (`DEFAULT_ADMIN_ROLE` on the hub and the token) and executes what
/// {LoraGovernor} queued once `minDelay` has passed. The governor is its only proposer and
/// canceller; anyone may execute a ready operation.
contract LoraTimelock is TimelockController {
    /// @param minDelay Seconds between queueing and execution.
    /// @param proposers Accounts allowed to schedule (the governor).
    /// @param executors Accounts allowed to execute (`address(0)`: anyone).
    /// @param admin Optional admin of the timelock's own roles (renounced after set-up).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
