// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IComputeRegistry
/// @notice Providers and their compute nodes. A node key proves itself with an EIP-712
/// signature over `AddNode(address provider,address node,uint32 computeUnits,bytes32 specsHash,
/// uint256 nonce,uint256 deadline)` in the domain `("loranet ComputeRegistry", "1", chainId,
/// this)`. State changes come only from the hub.
interface IComputeRegistry {
    /// @notice A provider record (one storage slot).
    struct Provider {
        bool registered;
        bool blacklisted;
        uint32 nodeCount;
        uint64 totalComputeUnits;
        uint64 registeredAt;
    }

    /// @notice A node record (one storage slot). A removed node keeps only its blacklist flag.
    struct Node {
        address provider;
        uint32 computeUnits;
        bool validated;
        bool blacklisted;
    }

    /// @notice The provider is already registered.
    error ComputeRegistryAlreadyRegistered(address provider);
    /// @notice The provider is not registered.
    error ComputeRegistryNotRegistered(address provider);
    /// @notice The provider still has `nodeCount` nodes (remove them before deregistering).
    error ComputeRegistryHasNodes(address provider, uint256 nodeCount);
    /// @notice The provider is blacklisted.
    error ComputeRegistryProviderBlacklisted(address provider);
    /// @notice The node is blacklisted.
    error ComputeRegistryNodeBlacklisted(address node);
    /// @notice The node is already registered (by any provider).
    error ComputeRegistryNodeExists(address node);
    /// @notice The node is not registered.
    error ComputeRegistryUnknownNode(address node);
    /// @notice The node belongs to another provider.
    error ComputeRegistryNotNodeOwner(address node, address provider);
    /// @notice The node address is zero or compute units are zero.
    error ComputeRegistryInvalidNode(address node, uint256 computeUnits);
    /// @notice The node signature's deadline has passed.
    error ComputeRegistryExpiredSignature(uint256 deadline);
    /// @notice The node signature is not the node key's signature of this request.
    error ComputeRegistryInvalidSignature(address node);

    /// @notice `provider` registered.
    event ProviderRegistered(address indexed provider);
    /// @notice `provider` ended its registration (it may register again later).
    event ProviderDeregistered(address indexed provider);
    /// @notice The provider's blacklist flag changed.
    event ProviderBlacklistSet(address indexed provider, bool blacklisted);
    /// @notice `node` of `provider` was added with `computeUnits` and hardware `specsHash`.
    event NodeAdded(address indexed provider, address indexed node, uint256 computeUnits, bytes32 specsHash);
    /// @notice `node` of `provider` was removed.
    event NodeRemoved(address indexed provider, address indexed node, uint256 computeUnits);
    /// @notice A validator marked `node` valid (`true`) or invalid (`false`).
    event NodeValidationSet(address indexed node, bool validated);
    /// @notice The node's blacklist flag changed.
    event NodeBlacklistSet(address indexed node, bool blacklisted);

    /// @notice EIP-712 type hash of `AddNode`.
    function ADD_NODE_TYPEHASH() external view returns (bytes32);

    /// @notice Registers `provider`. Requirements: caller is the hub; not registered or blacklisted.
    /// Emits {ProviderRegistered}.
    function registerProvider(address provider) external;

    /// @notice Ends `provider`'s registration. Requirements: caller is the hub; registered; no
    /// nodes. Emits {ProviderDeregistered}.
    function deregisterProvider(address provider) external;

    /// @notice Adds `node` to `provider` after checking the node key's EIP-712 signature (its
    /// nonce {nonces}(node) is consumed).
    /// @dev Requirements: caller is the hub; provider registered and not blacklisted; node new,
    /// not blacklisted; `deadline >= block.timestamp`. Emits {NodeAdded}.
    /// @return totalComputeUnits The provider's compute units after the addition.
    function addNode(
        address provider,
        address node,
        uint32 computeUnits,
        bytes32 specsHash,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 totalComputeUnits);

    /// @notice Removes `node` of `provider`. Requirements: caller is the hub (which checks pool
    /// membership); the node belongs to `provider`. Emits {NodeRemoved}.
    function removeNode(address provider, address node) external;

    /// @notice Marks a node (in)valid. Requirements: caller is the hub. Emits {NodeValidationSet}.
    function setNodeValidated(address node, bool validated) external;

    /// @notice Sets a node's blacklist flag. Requirements: caller is the hub. Emits {NodeBlacklistSet}.
    function setNodeBlacklisted(address node, bool blacklisted) external;

    /// @notice Sets a provider's blacklist flag. Requirements: caller is the hub. Emits {ProviderBlacklistSet}.
    function setProviderBlacklisted(address provider, bool blacklisted) external;

    /// @notice The record of `provider`.
    function providerOf(address provider) external view returns (Provider memory);
    /// @notice The record of `node`.
    function nodeOf(address node) external view returns (Node memory);
    /// @notice The next AddNode nonce of `node`.
    function nonces(address node) external view returns (uint256);
}
