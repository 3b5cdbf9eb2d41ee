// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {HubModule} from "../common/HubModule.sol";
import {IComputeRegistry} from "../interfaces/IComputeRegistry.sol";

/// @title ComputeRegistry
/// @notice Providers and their compute nodes; a node key proves itself with an EIP-712 signature.
/// Only the hub changes state (it enforces the minimum stake and pool membership rules).
contract ComputeRegistry is IComputeRegistry, HubModule, EIP712, Nonces {
    /// @inheritdoc IComputeRegistry
    bytes32 public constant ADD_NODE_TYPEHASH = keccak256(
        "AddNode(address provider,address node,uint32 computeUnits,bytes32 specsHash,uint256 nonce,uint256 deadline)"
    );

    mapping(address provider => Provider) private _providers;
    mapping(address node => Node) private _nodes;

    /// @param hub_ The network hub.
    constructor(address hub_) HubModule(hub_) EIP712("loranet ComputeRegistry", "1") {}

    /// @inheritdoc IComputeRegistry
    function registerProvider(address provider) external onlyHub {
        Provider storage p = _providers[provider];
        if (p.blacklisted) revert ComputeRegistryProviderBlacklisted(provider);
        if (p.registered) revert ComputeRegistryAlreadyRegistered(provider);
        p.registered = true;
        p.registeredAt = uint64(block.timestamp);
        emit ProviderRegistered(provider);
    }

    /// @inheritdoc IComputeRegistry
    function deregisterProvider(address provider) external onlyHub {
        Provider storage p = _providers[provider];
        if (!p.registered) revert ComputeRegistryNotRegistered(provider);
        if (p.nodeCount != 0) revert ComputeRegistryHasNodes(provider, p.nodeCount);
        p.registered = false;
        emit ProviderDeregistered(provider);
    }

    /// @inheritdoc IComputeRegistry
    function addNode(
        address provider,
        address node,
        uint32 computeUnits,
        bytes32 specsHash,
        uint256 deadline,
        bytes calldata signature
    ) external onlyHub returns (uint256 totalComputeUnits) {
        Provider memory p = _providers[provider];
        if (!p.registered) revert ComputeRegistryNotRegistered(provider);
        if (p.blacklisted) revert ComputeRegistryProviderBlacklisted(provider);
        if (node == address(0) || computeUnits == 0) revert ComputeRegistryInvalidNode(node, computeUnits);
        Node memory n = _nodes[node];
        if (n.blacklisted) revert ComputeRegistryNodeBlacklisted(node);
        if (n.provider != address(0)) revert ComputeRegistryNodeExists(node);
        _checkSignature(provider, node, computeUnits, specsHash, deadline, signature);
        _nodes[node] = Node({provider: provider, computeUnits: computeUnits, validated: false, blacklisted: false});
        totalComputeUnits = p.totalComputeUnits + computeUnits;
        p.totalComputeUnits = uint64(totalComputeUnits); // < 2^32 nodes * 2^32 units
        p.nodeCount += 1;
        _providers[provider] = p;
        emit NodeAdded(provider, node, computeUnits, specsHash);
    }

    /// @inheritdoc IComputeRegistry
    function removeNode(address provider, address node) external onlyHub {
        Node memory n = _nodes[node];
        if (n.provider == address(0)) revert ComputeRegistryUnknownNode(node);
        if (n.provider != provider) revert ComputeRegistryNotNodeOwner(node, provider);
        Provider storage p = _providers[provider];
        unchecked {
            // the node's units and count are part of the provider's totals
            p.totalComputeUnits -= n.computeUnits;
            p.nodeCount -= 1;
        }
        // a removed node keeps its blacklist flag so that it cannot come back
        _nodes[node] = Node({provider: address(0), computeUnits: 0, validated: false, blacklisted: n.blacklisted});
        emit NodeRemoved(provider, node, n.computeUnits);
    }

    /// @inheritdoc IComputeRegistry
    function setNodeValidated(address node, bool validated) external onlyHub {
        Node storage n = _nodes[node];
        address provider = n.provider;
        // written before the check, in the read's basic block: the slot is read once (gas);
        // the revert below undoes the write for an unknown node
        n.validated = validated;
        if (provider == address(0)) revert ComputeRegistryUnknownNode(node);
        emit NodeValidationSet(node, validated);
    }

    /// @inheritdoc IComputeRegistry
    function setNodeBlacklisted(address node, bool blacklisted) external onlyHub {
        _nodes[node].blacklisted = blacklisted;
        emit NodeBlacklistSet(node, blacklisted);
    }

    /// @inheritdoc IComputeRegistry
    function setProviderBlacklisted(address provider, bool blacklisted) external onlyHub {
        _providers[provider].blacklisted = blacklisted;
        emit ProviderBlacklistSet(provider, blacklisted);
    }

    /// @dev Checks the node key's AddNode signature and consumes the node's nonce.
    function _checkSignature(
        address provider,
        address node,
        uint32 computeUnits,
        bytes32 specsHash,
        uint256 deadline,
        bytes calldata signature
    ) private {
        if (block.timestamp > deadline) revert ComputeRegistryExpiredSignature(deadline);
        bytes32 structHash =
            keccak256(abi.encode(ADD_NODE_TYPEHASH, provider, node, computeUnits, specsHash, _useNonce(node), deadline));
        if (!SignatureChecker.isValidSignatureNowCalldata(node, _hashTypedDataV4(structHash), signature)) {
            revert ComputeRegistryInvalidSignature(node);
        }
    }

    /// @inheritdoc IComputeRegistry
    function providerOf(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    /// @inheritdoc IComputeRegistry
    function nodeOf(address node) external view returns (Node memory) {
        return _nodes[node];
    }

    /// @inheritdoc IComputeRegistry
    function nonces(address node) public view override(IComputeRegistry, Nonces) returns (uint256) {
        return super.nonces(node);
    }

}
