// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IComputePool
/// @notice Training pools: a base model and a data set (hash + URI), a domain, a round clock,
/// a reward per round and a node limit. Lifecycle Pending -> Active -> Completed. Nodes join
/// with an EIP-712 signature of their key over `JoinPool(uint256 poolId,address node,
/// address provider,uint256 nonce,uint256 deadline)` in the domain
/// `("loranet ComputePool", "1", chainId, this)`.
///
/// Round `r` of an active pool spans `[startTime + r*roundLength, startTime + (r+1)*roundLength)`;
/// its reports are accepted during `[roundEnd, roundEnd + submissionWindow)`. A pool that ended
/// has only the rounds that ended by its `endTime`.
interface IComputePool {
    /// @notice Lifecycle state of a pool.
    enum Status {
        None,
        Pending,
        Active,
        Completed
    }

    /// @notice What a pool creator chooses.
    /// @param domainId The domain (validation policy) of the pool's work.
    /// @param baseModelHash Content hash of the base model; `baseModelUri` says where it is.
    /// @param datasetHash Content hash of the data set; `datasetUri` says where it is.
    /// @param metadataUri Bootstrap peers and other metadata (JSON), emitted only.
    /// @param roundLength Seconds per round.
    /// @param submissionWindow Seconds after a round's end during which reports are accepted (<= roundLength).
    /// @param rewardPerRound LORA (wei) shared by a round's accepted reports.
    /// @param maxNodes Node limit (1..{MAX_NODES}).
    /// @param minComputeUnits Least compute units a node needs to join.
    struct PoolParams {
        uint32 domainId;
        bytes32 baseModelHash;
        string baseModelUri;
        bytes32 datasetHash;
        string datasetUri;
        string metadataUri;
        uint32 roundLength;
        uint32 submissionWindow;
        uint96 rewardPerRound;
        uint32 maxNodes;
        uint32 minComputeUnits;
    }

    /// @notice A stored pool (URIs live only in events).
    struct Pool {
        // slot 0: the round clock, read by every report
        uint64 startTime;
        uint64 endTime;
        uint32 roundLength;
        uint32 submissionWindow;
        uint32 domainId;
        Status status;
        // slot 1
        uint96 rewardPerRound;
        address creator;
        // slot 2
        uint32 maxNodes;
        uint32 nodeCount;
        uint32 minComputeUnits;
        // slots 3, 4
        bytes32 baseModelHash;
        bytes32 datasetHash;
    }

    /// @notice A node's current pool (one slot). `poolId` 0 means none.
    struct Membership {
        uint32 poolId;
        uint64 joinedAt;
        address provider;
    }

    /// @notice No pool has this id.
    error ComputePoolUnknownPool(uint256 poolId);
    /// @notice The pool is not in the state the call needs.
    error ComputePoolWrongStatus(uint256 poolId, Status status);
    /// @notice A pool parameter is out of range.
    error ComputePoolInvalidParams();
    /// @notice The pool has `maxNodes` members.
    error ComputePoolFull(uint256 poolId, uint256 maxNodes);
    /// @notice The node is blacklisted in this pool.
    error ComputePoolNodeBlacklisted(uint256 poolId, address node);
    /// @notice The node is already a member of an active pool.
    error ComputePoolAlreadyMember(address node, uint256 poolId);
    /// @notice The node is not a member of any pool.
    error ComputePoolNotMember(address node);
    /// @notice The node has fewer compute units than the pool needs.
    error ComputePoolInsufficientComputeUnits(uint256 poolId, uint256 computeUnits, uint256 minComputeUnits);
    /// @notice The join signature's deadline has passed.
    error ComputePoolExpiredSignature(uint256 deadline);
    /// @notice The join signature is not the node key's signature of this request.
    error ComputePoolInvalidSignature(address node);
    /// @notice The round has not started, or lies after the pool's end.
    error ComputePoolInvalidRound(uint256 poolId, uint256 round);

    /// @notice Pool `poolId` was created by `creator` with `params` (URIs included).
    event PoolCreated(uint256 indexed poolId, uint256 indexed domainId, address indexed creator, PoolParams params);
    /// @notice The pool's metadata (bootstrap peers) URI changed.
    event PoolMetadataUpdated(uint256 indexed poolId, string metadataUri);
    /// @notice The pool became active; round 0 starts at `startTime`.
    event PoolStarted(uint256 indexed poolId, uint256 startTime);
    /// @notice The pool completed at `endTime`.
    event PoolEnded(uint256 indexed poolId, uint256 endTime);
    /// @notice `node` of `provider` joined `poolId`.
    event NodeJoined(uint256 indexed poolId, address indexed node, address indexed provider);
    /// @notice `node` of `provider` left `poolId`.
    event NodeLeft(uint256 indexed poolId, address indexed node, address indexed provider);
    /// @notice `node` was removed from `poolId` by the protocol; `reason` is a tag
    /// (`"REJECTED"`, `"BLACKLISTED"`, `"INVALIDATED"`).
    event NodeEjected(uint256 indexed poolId, address indexed node, bytes32 reason);
    /// @notice `node`'s blacklist flag in `poolId` changed.
    event PoolBlacklistSet(uint256 indexed poolId, address indexed node, bool blacklisted);

    /// @notice Most nodes a pool may have (a round's reports fit a 256-bit bitmap).
    function MAX_NODES() external view returns (uint256);
    /// @notice EIP-712 type hash of `JoinPool`.
    function JOIN_POOL_TYPEHASH() external view returns (bytes32);

    /// @notice Creates a pending pool and records a new longest submission window
    /// ({maxSubmissionWindow}). Requirements: caller is the hub (which checks that the domain
    /// exists and the verdict-span rule); `roundLength > 0`; `0 < submissionWindow <=
    /// roundLength`; `0 < maxNodes <= MAX_NODES`; fewer than 2^32 - 1 pools so far. Emits
    /// {PoolCreated}.
    function createPool(PoolParams calldata params, address creator) external returns (uint256 poolId);

    /// @notice Replaces the metadata URI. Requirements: caller is the hub. Emits {PoolMetadataUpdated}.
    function setMetadataUri(uint256 poolId, string calldata metadataUri) external;

    /// @notice Starts a pending pool now. Requirements: caller is the hub. Emits {PoolStarted}.
    function startPool(uint256 poolId) external;

    /// @notice Completes a pending or active pool now. Requirements: caller is the hub. Emits {PoolEnded}.
    function endPool(uint256 poolId) external;

    /// @notice Adds `node` of `provider` to a pending or active pool after checking the node
    /// key's signature (nonce {nonces}(node) consumed).
    /// @dev Requirements: caller is the hub (which checked the registry and the stake); room
    /// left; not pool-blacklisted; not in another non-completed pool. Emits {NodeJoined}.
    function join(
        uint256 poolId,
        address node,
        address provider,
        uint256 computeUnits,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Removes `node` from its pool at its provider's request. Requirements: caller is
    /// the hub; the node is a member. Emits {NodeLeft}.
    /// @return poolId The pool it left.
    function leave(address node) external returns (uint256 poolId);

    /// @notice Removes `node` from its pool if it is in one (no-op otherwise); with `poolId`
    /// non-zero only if it is in that pool. Requirements: caller is the hub or the work ledger.
    /// Emits {NodeEjected} when it removed the node.
    function eject(uint256 poolId, address node, bytes32 reason) external;

    /// @notice Sets `node`'s blacklist flag in `poolId`; blacklisting ejects it. Requirements:
    /// caller is the hub. Emits {PoolBlacklistSet} (and {NodeEjected}).
    function setPoolBlacklisted(uint256 poolId, address node, bool blacklisted) external;

    /// @notice The pool `poolId` (reverts for an unknown id).
    function poolOf(uint256 poolId) external view returns (Pool memory);
    /// @notice Number of pools (ids are 1..poolCount; at most 2^32 - 1).
    function poolCount() external view returns (uint256);
    /// @notice Longest submission window of any pool created so far (the hub's verdict-span
    /// rule: see {INetworkHub-maxSubmissionWindow}).
    function maxSubmissionWindow() external view returns (uint32);
    /// @notice The membership of `node` (poolId 0 if none).
    function membershipOf(address node) external view returns (Membership memory);
    /// @notice Whether `node` is in a pool that has not completed.
    function inActivePool(address node) external view returns (bool);
    /// @notice Whether `node` is blacklisted in `poolId`.
    function isPoolBlacklisted(uint256 poolId, address node) external view returns (bool);
    /// @notice The next JoinPool nonce of `node`.
    function nonces(address node) external view returns (uint256);
    /// @notice The round running at the current time (reverts if the pool is not active or not started).
    function currentRound(uint256 poolId) external view returns (uint256);
    /// @notice Start, end and submission deadline of round `round` (reverts for a round that
    /// does not exist: pool not started, or round ending after the pool's end).
    function roundWindow(uint256 poolId, uint256 round)
        external
        view
        returns (uint256 start, uint256 end, uint256 submissionEnd);
    /// @notice What the work ledger needs to decide round `round`: its submission deadline (as
    /// {roundWindow}, with the same reverts), the pool's domain and its reward per round. Reads
    /// the pool's first two slots only (two SLOADs, where {roundWindow} and {poolOf} take six).
    function roundContext(uint256 poolId, uint256 round)
        external
        view
        returns (uint256 submissionEnd, uint256 domainId, uint256 rewardPerRound);
}
