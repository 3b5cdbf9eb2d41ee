// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IComputePool} from "./IComputePool.sol";
import {IDomainRegistry} from "./IDomainRegistry.sol";

/// @title INetworkHub
/// @notice The entry point of loranet for providers and admins. It holds the roles
/// (`DEFAULT_ADMIN_ROLE`, `VALIDATOR_ROLE`, `POOL_CREATOR_ROLE`), the minimum-stake rule
/// `base + perUnit * totalComputeUnits` (0 for a provider without nodes) and the wiring between
/// modules, which accept state changes only from the hub (and the work ledger).
interface INetworkHub {
    /// @notice Module addresses set once by {wire}.
    struct Modules {
        address stakeManager;
        address computeRegistry;
        address domainRegistry;
        address computePool;
        address workLedger;
    }

    /// @notice The hub is already wired.
    error NetworkHubAlreadyWired();
    /// @notice A module address is zero or the module obeys another hub.
    error NetworkHubInvalidModule(address module);
    /// @notice The provider's free stake `staked` is below the minimum `required`.
    error NetworkHubInsufficientStake(address provider, uint256 staked, uint256 required);
    /// @notice The caller does not own the node.
    error NetworkHubNotNodeOwner(address node, address caller);
    /// @notice The node is not validated, or it or its provider is blacklisted.
    error NetworkHubNodeNotEligible(address node);
    /// @notice The node is in a pool that has not completed.
    error NetworkHubNodeInActivePool(address node);
    /// @notice The caller is neither the pool's creator nor an admin.
    error NetworkHubNotPoolCreator(uint256 poolId, address caller);

    /// @notice The modules were wired.
    event ModulesWired(Modules modules);
    /// @notice The minimum-stake parameters changed.
    event StakeParamsSet(uint256 baseStake, uint256 perUnitStake);

    /// @notice Role of validators (attest reports, validate nodes).
    function VALIDATOR_ROLE() external view returns (bytes32);
    /// @notice Role allowed to create pools.
    function POOL_CREATOR_ROLE() external view returns (bytes32);
    /// @notice The LORA token.
    function token() external view returns (address);
    /// @notice The stake manager.
    function stakeManager() external view returns (address);
    /// @notice The compute registry.
    function computeRegistry() external view returns (address);
    /// @notice The domain registry.
    function domainRegistry() external view returns (address);
    /// @notice The compute pool manager.
    function computePool() external view returns (address);
    /// @notice The work ledger.
    function workLedger() external view returns (address);
    /// @notice Stake every provider with nodes needs, plus {perUnitStake} per compute unit.
    function baseStake() external view returns (uint96);
    /// @notice Stake per compute unit of a provider's nodes.
    function perUnitStake() external view returns (uint96);
    /// @notice The minimum free stake of `provider` now.
    function minStakeOf(address provider) external view returns (uint256);

    // --- admin ---

    /// @notice Sets the module addresses once. Requirements: admin. Emits {ModulesWired}.
    function wire(Modules calldata modules) external;
    /// @notice Sets the minimum-stake rule. Requirements: admin. Emits {StakeParamsSet}.
    function setStakeParams(uint256 baseStake, uint256 perUnitStake) external;
    /// @notice Sets the unbonding period of new unbond requests. Requirements: admin.
    function setUnbondingPeriod(uint256 period) external;
    /// @notice Sets the slash split. Requirements: admin.
    function setSlashSplit(uint256 burnBps, address treasury) external;
    /// @notice Slashes a provider by hand (governance). Requirements: admin.
    function slash(address provider, uint256 amount, bytes32 reason) external returns (uint256 slashed);
    /// @notice Creates a domain. Requirements: admin.
    function createDomain(string calldata name, IDomainRegistry.Policy calldata policy) external returns (uint256);
    /// @notice Updates a domain's policy. Requirements: admin.
    function updateDomain(uint256 domainId, IDomainRegistry.Policy calldata policy) external;
    /// @notice Sets a provider's blacklist flag. Requirements: admin.
    function setProviderBlacklisted(address provider, bool blacklisted) external;
    /// @notice Sets a node's blacklist flag; blacklisting ejects it from its pool. Requirements: admin.
    function setNodeBlacklisted(address node, bool blacklisted) external;
    /// @notice Marks a node (in)valid; invalidating ejects it from its pool. Requirements: `VALIDATOR_ROLE`.
    function setNodeValidated(address node, bool validated) external;

    // --- pool creators ---

    /// @notice Creates a pool owned by the caller. Requirements: `POOL_CREATOR_ROLE`.
    function createPool(IComputePool.PoolParams calldata params) external returns (uint256 poolId);
    /// @notice Starts a pool. Requirements: the pool's creator or an admin.
    function startPool(uint256 poolId) external;
    /// @notice Ends a pool. Requirements: the pool's creator or an admin.
    function endPool(uint256 poolId) external;
    /// @notice Updates a pool's metadata URI. Requirements: the pool's creator or an admin.
    function setPoolMetadataUri(uint256 poolId, string calldata metadataUri) external;
    /// @notice (Un)blacklists a node in a pool. Requirements: the pool's creator or an admin.
    function setPoolBlacklisted(uint256 poolId, address node, bool blacklisted) external;

    // --- providers ---

    /// @notice Stakes `amount` and registers the caller as a provider in one transaction.
    /// With `deadline != 0`, first applies the caller's ERC-2612 permit of `amount` to the
    /// stake manager (a failing permit is ignored when the allowance is already there).
    /// Requirements: staked total at least {baseStake}; not registered.
    function registerProvider(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;
    /// @notice Adds to the caller's stake (allowance to the stake manager needed).
    function stake(uint256 amount) external;
    /// @notice Requests an unbond; the free stake left must stay at or above {minStakeOf}.
    function unbond(uint256 amount) external returns (uint256 requestId);
    /// @notice Withdraws the caller's matured unbonds.
    function withdraw() external returns (uint256 amount);
    /// @notice Adds a node (signed by the node key); the caller's stake must cover the new minimum.
    function addNode(address node, uint32 computeUnits, bytes32 specsHash, uint256 deadline, bytes calldata signature)
        external;
    /// @notice Removes one of the caller's nodes that is not in an active pool.
    function removeNode(address node) external;
    /// @notice Joins one of the caller's validated nodes to a pool (signed by the node key).
    function joinPool(uint256 poolId, address node, uint256 deadline, bytes calldata signature) external;
    /// @notice Takes one of the caller's nodes out of its pool.
    function leavePool(address node) external;
}
