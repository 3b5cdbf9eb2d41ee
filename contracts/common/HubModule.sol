// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IHubModule} from "../interfaces/IHubModule.sol";
import {INetworkHub} from "../interfaces/INetworkHub.sol";

/// @title HubModule
/// @notice Base of the modules that only the {NetworkHub} (and its work ledger) may change.
/// @dev The hub address is immutable; the ledger is looked up on the hub when needed, so the
/// only wiring step is {INetworkHub-wire}.
abstract contract HubModule is IHubModule {
    /// @inheritdoc IHubModule
    address public immutable hub;

    constructor(address hub_) {
        if (hub_ == address(0)) revert HubModuleZeroAddress();
        hub = hub_;
    }

    modifier onlyHub() {
        if (msg.sender != hub) revert HubModuleUnauthorized(msg.sender);
        _;
    }

    modifier onlyHubOrLedger() {
        if (msg.sender != hub && msg.sender != INetworkHub(hub).workLedger()) {
            revert HubModuleUnauthorized(msg.sender);
        }
        _;
    }
}
