// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {HubModule} from "../common/HubModule.sol";
import {IDomainRegistry} from "../interfaces/IDomainRegistry.sol";

/// @title DomainRegistry
/// @notice Kinds of work and their validation policy. Only the hub changes state.
contract DomainRegistry is IDomainRegistry, HubModule {
    uint256 private constant _BPS = 10_000;

    /// @inheritdoc IDomainRegistry
    uint256 public domainCount;

    mapping(uint256 domainId => Policy) private _policies;
    mapping(bytes32 nameHash => uint256 domainId) private _ids;

    /// @param hub_ The network hub.
    constructor(address hub_) HubModule(hub_) {}

    /// @inheritdoc IDomainRegistry
    function createDomain(string calldata name, Policy calldata policy) external onlyHub returns (uint256 domainId) {
        bytes32 nameHash = keccak256(bytes(name));
        if (bytes(name).length == 0 || _ids[nameHash] != 0) revert DomainRegistryNameTaken(name);
        _checkPolicy(policy);
        domainId = ++domainCount;
        _ids[nameHash] = domainId;
        _policies[domainId] = policy;
        emit DomainCreated(domainId, name, policy);
    }

    /// @inheritdoc IDomainRegistry
    function updateDomain(uint256 domainId, Policy calldata policy) external onlyHub {
        if (_policies[domainId].quorum == 0) revert DomainRegistryUnknownDomain(domainId);
        _checkPolicy(policy);
        _policies[domainId] = policy;
        emit DomainUpdated(domainId, policy);
    }

    /// @inheritdoc IDomainRegistry
    function policyOf(uint256 domainId) public view returns (Policy memory policy) {
        policy = _policies[domainId];
        if (policy.quorum == 0) revert DomainRegistryUnknownDomain(domainId);
    }

    /// @inheritdoc IDomainRegistry
    function multiplierOf(uint256 domainId, ExecutionMode mode) external view returns (uint256) {
        Policy memory policy = policyOf(domainId);
        if (mode == ExecutionMode.LOCAL_GPU) return policy.localGpuMultiplierBps;
        if (mode == ExecutionMode.CUSTOM) return policy.customMultiplierBps;
        return policy.remoteApiMultiplierBps;
    }

    /// @inheritdoc IDomainRegistry
    function domainIdOf(string calldata name) external view returns (uint256) {
        return _ids[keccak256(bytes(name))];
    }

    function _checkPolicy(Policy calldata policy) private pure {
        if (
            policy.quorum == 0 || policy.challengeWindow == 0 || policy.localGpuMultiplierBps == 0 || policy.customMultiplierBps == 0
                || policy.remoteApiMultiplierBps == 0 || policy.slashBps > _BPS
        ) revert DomainRegistryInvalidPolicy();
    }
}
