// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IComputePool} from "./IComputePool.sol";
import {IDomainRegistry} from "./IDomainRegistry.sol";

/// @title INetworkHub
/// @notice The entry point of loranet for providers and admins. It holds the roles
/// (`DEFAULT_ADMIN_ROLE`, `VALIDATOR_ROLE`, `POOL_CREATOR_ROLE`, `GUARDIAN_ROLE`), the
/// minimum-stake rule `base + perUnit * totalComputeUnits` (for every registered provider, 0
/// once deregistered), the verdict-span rule (`unbondingPeriod >= submissionWindow + 2 *
/// challengeWindow` for every pool and domain), the pause switch and the wiring between
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
    /// @notice The unbonding period would be shorter than `span`, the longest time from a
    /// report to its round's verdict (`submissionWindow + 2 * challengeWindow`).
    error NetworkHubUnbondingTooShort(uint256 unbondingPeriod, uint256 span);
    /// @notice The pool has ended: its escrow takes no more funds.
    error NetworkHubPoolEnded(uint256 poolId);

    /// @notice The modules were wired.
    event ModulesWired(Modules modules);
    /// @notice The minimum-stake parameters changed.
    event StakeParamsSet(uint256 baseStake, uint256 perUnitStake);

    /// @notice Role of validators (attest reports, validate nodes).
    function VALIDATOR_ROLE() external view returns (bytes32);
    /// @notice Role allowed to create pools.
    function POOL_CREATOR_ROLE() external view returns (bytes32);
    /// @notice Role allowed to pause (never to unpause, move funds or change parameters).
    function GUARDIAN_ROLE() external view returns (bytes32);
    /// @notice Longest submission window of any pool created so far (recorded by the compute
    /// pool: {IComputePool-maxSubmissionWindow}).
    function maxSubmissionWindow() external view returns (uint32);
    /// @notice Longest challenge window any domain has had.
    function maxChallengeWindow() external view returns (uint32);
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
    /// @notice The minimum free stake of `provider` now: `baseStake + perUnitStake *
    /// totalComputeUnits` while registered, 0 otherwise.
    function minStakeOf(address provider) external view returns (uint256);

    // --- admin ---

    /// @notice Sets the module addresses once. Requirements: admin. Emits {ModulesWired}.
    function wire(Modules calldata modules) external;
    /// @notice Sets the minimum-stake rule. Requirements: admin. Emits {StakeParamsSet}.
    function setStakeParams(uint256 baseStake, uint256 perUnitStake) external;
    /// @notice Sets the unbonding period of new unbond requests. Requirements: admin;
    /// `period >= maxSubmissionWindow + 2 * maxChallengeWindow`.
    function setUnbondingPeriod(uint256 period) external;
    /// @notice Pauses staking, registration, unbonding, joining, pool creation and funding,
    /// withdrawals and claims. Requirements: `GUARDIAN_ROLE` or admin. Emits {PackedPausable-Paused}.
    function pause() external;
    /// @notice Lifts the pause. Requirements: admin. Emits {PackedPausable-Unpaused}.
    function unpause() external;
    /// @notice Sets the slash split. Requirements: admin.
    function setSlashSplit(uint256 burnBps, address treasury) external;
    /// @notice Slashes a provider by hand (governance). Requirements: admin.
    function slash(address provider, uint256 amount, bytes32 reason) external returns (uint256 slashed);
    /// @notice Creates a domain. Requirements: admin; a new longest challenge window must keep
    /// the verdict-span rule.
    function createDomain(string calldata name, IDomainRegistry.Policy calldata policy) external returns (uint256);
    /// @notice Updates a domain's policy. Requirements: admin; verdict-span rule as above.
    function updateDomain(uint256 domainId, IDomainRegistry.Policy calldata policy) external;
    /// @notice Sets a provider's blacklist flag. Requirements: admin.
    function setProviderBlacklisted(address provider, bool blacklisted) external;
    /// @notice Sets a node's blacklist flag; blacklisting ejects it from its pool. Requirements: admin.
    function setNodeBlacklisted(address node, bool blacklisted) external;
    /// @notice Marks a node (in)valid; invalidating ejects it from its pool. Requirements: `VALIDATOR_ROLE`.
    function setNodeValidated(address node, bool validated) external;

    // --- pool creators ---

    /// @notice Creates a pool owned by the caller and escrows its reward `budget` (LORA) in the
    /// work ledger in the same transaction. With `deadline != 0`, first applies the caller's
    /// ERC-2612 permit of `budget` to the work ledger (a failing permit is ignored when the
    /// allowance is already there). Requirements: `POOL_CREATOR_ROLE`; not paused; the
    /// submission window keeps the verdict-span rule; the domain exists
    /// ({IDomainRegistry-DomainRegistryUnknownDomain} otherwise, checked by the hub against its
    /// copy of the registry's domain count). Emits {IComputePool-PoolCreated} and
    /// {IWorkLedger-PoolFunded}.
    function createPool(
        IComputePool.PoolParams calldata params,
        uint256 budget,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 poolId);
    /// @notice Adds `amount` of the caller's LORA to a pool's escrow (anyone may fund a pool
    /// that has not ended); permit as in {createPool}. Emits {IWorkLedger-PoolFunded}.
    function fundPool(uint256 poolId, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;
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
    /// @notice Ends the caller's registration, which frees its base stake for unbonding.
    /// Requirements: registered; no nodes. Emits {IComputeRegistry-ProviderDeregistered}.
    function deregisterProvider() external;
    /// @notice Adds to the caller's stake (allowance to the stake manager needed). Not paused.
    function stake(uint256 amount) external;
    /// @notice Requests an unbond; the free stake left must stay at or above {minStakeOf}
    /// (withdraw matured unbonds on the stake manager itself: {IStakeManager-withdraw}).
    function unbond(uint256 amount) external returns (uint256 requestId);
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
