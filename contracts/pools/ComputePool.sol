// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {HubModule} from "../common/HubModule.sol";
import {IComputePool} from "../interfaces/IComputePool.sol";
import {IDomainRegistry} from "../interfaces/IDomainRegistry.sol";

/// @title ComputePool
/// @notice Training pools, their round clock and their members. Only the hub changes state,
/// except {eject}, which the work ledger may also call for rejected work.
contract ComputePool is IComputePool, HubModule, EIP712, Nonces {
    /// @inheritdoc IComputePool
    uint256 public constant MAX_NODES = 256;
    /// @inheritdoc IComputePool
    bytes32 public constant JOIN_POOL_TYPEHASH =
        keccak256("JoinPool(uint256 poolId,address node,address provider,uint256 nonce,uint256 deadline)");

    /// @notice The domain registry of the pools' domains (the hub checks that a new pool's
    /// domain exists before it creates the pool).
    IDomainRegistry public immutable domainRegistry;

    // One slot, read and written by every createPool (gas, issue 19): the pool counter and the
    // longest submission window, which the hub's verdict-span rule needs.

    /// @dev Number of pools. Range: one pool per createPool call; the checked increment reverts
    /// past 2^32 - 1, so that every pool id fits a membership's `uint32 poolId`.
    uint32 private _poolCount;
    /// @inheritdoc IComputePool
    uint32 public maxSubmissionWindow;

    mapping(uint256 poolId => Pool) private _pools;
    mapping(address node => Membership) private _members;
    mapping(uint256 poolId => mapping(address node => bool)) private _blacklist;

    /// @param hub_ The network hub.
    /// @param domainRegistry_ The domain registry.
    constructor(address hub_, address domainRegistry_) HubModule(hub_) EIP712("loranet ComputePool", "1") {
        if (domainRegistry_ == address(0)) revert HubModuleZeroAddress();
        domainRegistry = IDomainRegistry(domainRegistry_);
    }

    // ------------------------------------------------------------------ lifecycle

    /// @inheritdoc IComputePool
    function createPool(PoolParams calldata params, address creator) external onlyHub returns (uint256 poolId) {
        if (
            params.roundLength == 0 || params.submissionWindow == 0 || params.submissionWindow > params.roundLength
                || params.maxNodes == 0 || params.maxNodes > MAX_NODES
        ) revert ComputePoolInvalidParams();
        // the calldata reads (each with its own range check) first, then the writes of each
        // slot in one straight-line block: one SSTORE per slot (gas)
        (uint32 roundLength, uint32 submissionWindow, uint32 domainId) =
            (params.roundLength, params.submissionWindow, params.domainId);
        (uint96 rewardPerRound, uint32 maxNodes, uint32 minComputeUnits) =
            (params.rewardPerRound, params.maxNodes, params.minComputeUnits);
        (uint32 count, uint32 maxWindow) = (_poolCount, maxSubmissionWindow);
        count += 1; // checked: reverts past 2^32 - 1
        if (submissionWindow > maxWindow) maxWindow = submissionWindow;
        (_poolCount, maxSubmissionWindow) = (count, maxWindow);
        poolId = count;
        Pool storage pool = _pools[poolId];
        pool.roundLength = roundLength;
        pool.submissionWindow = submissionWindow;
        pool.domainId = domainId;
        pool.status = Status.Pending;
        pool.rewardPerRound = rewardPerRound;
        pool.creator = creator;
        pool.maxNodes = maxNodes;
        pool.minComputeUnits = minComputeUnits;
        pool.baseModelHash = params.baseModelHash;
        pool.datasetHash = params.datasetHash;
        emit PoolCreated(poolId, domainId, creator, params);
    }

    /// @inheritdoc IComputePool
    function setMetadataUri(uint256 poolId, string calldata metadataUri) external onlyHub {
        _existing(poolId);
        emit PoolMetadataUpdated(poolId, metadataUri);
    }

    /// @inheritdoc IComputePool
    function startPool(uint256 poolId) external onlyHub {
        Pool storage pool = _existing(poolId);
        if (pool.status != Status.Pending) revert ComputePoolWrongStatus(poolId, pool.status);
        pool.status = Status.Active;
        pool.startTime = uint64(block.timestamp);
        emit PoolStarted(poolId, block.timestamp);
    }

    /// @inheritdoc IComputePool
    function endPool(uint256 poolId) external onlyHub {
        Pool storage pool = _existing(poolId);
        if (pool.status != Status.Pending && pool.status != Status.Active) {
            revert ComputePoolWrongStatus(poolId, pool.status);
        }
        pool.status = Status.Completed;
        pool.endTime = uint64(block.timestamp);
        emit PoolEnded(poolId, block.timestamp);
    }

    // ------------------------------------------------------------------ membership

    /// @inheritdoc IComputePool
    function join(
        uint256 poolId,
        address node,
        address provider,
        uint256 computeUnits,
        uint256 deadline,
        bytes calldata signature
    ) external onlyHub {
        Pool storage pool = _existing(poolId);
        Status status = pool.status;
        if (status != Status.Pending && status != Status.Active) revert ComputePoolWrongStatus(poolId, status);
        if (pool.nodeCount >= pool.maxNodes) revert ComputePoolFull(poolId, pool.maxNodes);
        if (computeUnits < pool.minComputeUnits) {
            revert ComputePoolInsufficientComputeUnits(poolId, computeUnits, pool.minComputeUnits);
        }
        if (_blacklist[poolId][node]) revert ComputePoolNodeBlacklisted(poolId, node);
        uint256 current = _members[node].poolId;
        if (current != 0 && _pools[current].status != Status.Completed) {
            revert ComputePoolAlreadyMember(node, current);
        }
        if (block.timestamp > deadline) revert ComputePoolExpiredSignature(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(JOIN_POOL_TYPEHASH, poolId, node, provider, _useNonce(node), deadline))
        );
        if (!SignatureChecker.isValidSignatureNowCalldata(node, digest, signature)) {
            revert ComputePoolInvalidSignature(node);
        }
        unchecked {
            pool.nodeCount += 1; // < maxNodes <= 256
        }
        // poolId <= poolCount, a uint32
        _members[node] = Membership({poolId: uint32(poolId), joinedAt: uint64(block.timestamp), provider: provider});
        emit NodeJoined(poolId, node, provider);
    }

    /// @inheritdoc IComputePool
    function leave(address node) external onlyHub returns (uint256 poolId) {
        Membership memory m = _members[node];
        if (m.poolId == 0) revert ComputePoolNotMember(node);
        poolId = m.poolId;
        _remove(poolId, node);
        emit NodeLeft(poolId, node, m.provider);
    }

    /// @inheritdoc IComputePool
    function eject(uint256 poolId, address node, bytes32 reason) external onlyHubOrLedger {
        _eject(poolId, node, reason);
    }

    /// @inheritdoc IComputePool
    function setPoolBlacklisted(uint256 poolId, address node, bool blacklisted) external onlyHub {
        _existing(poolId);
        _blacklist[poolId][node] = blacklisted;
        emit PoolBlacklistSet(poolId, node, blacklisted);
        if (blacklisted) _eject(poolId, node, "BLACKLISTED");
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IComputePool
    function poolOf(uint256 poolId) external view returns (Pool memory) {
        return _existing(poolId);
    }

    /// @inheritdoc IComputePool
    function poolCount() external view returns (uint256) {
        return _poolCount;
    }

    /// @inheritdoc IComputePool
    function membershipOf(address node) external view returns (Membership memory) {
        return _members[node];
    }

    /// @inheritdoc IComputePool
    function inActivePool(address node) external view returns (bool) {
        uint256 poolId = _members[node].poolId;
        return poolId != 0 && _pools[poolId].status != Status.Completed;
    }

    /// @inheritdoc IComputePool
    function isPoolBlacklisted(uint256 poolId, address node) external view returns (bool) {
        return _blacklist[poolId][node];
    }

    /// @inheritdoc IComputePool
    function nonces(address node) public view override(IComputePool, Nonces) returns (uint256) {
        return super.nonces(node);
    }

    /// @inheritdoc IComputePool
    function currentRound(uint256 poolId) external view returns (uint256) {
        Pool storage pool = _existing(poolId);
        if (pool.status != Status.Active) revert ComputePoolWrongStatus(poolId, pool.status);
        return (block.timestamp - pool.startTime) / pool.roundLength;
    }

    /// @inheritdoc IComputePool
    function roundWindow(uint256 poolId, uint256 round)
        external
        view
        returns (uint256 start, uint256 end, uint256 submissionEnd)
    {
        return _roundWindow(_existing(poolId), poolId, round);
    }

    /// @inheritdoc IComputePool
    function roundContext(uint256 poolId, uint256 round)
        external
        view
        returns (uint256 submissionEnd, uint256 domainId, uint256 rewardPerRound)
    {
        Pool storage pool = _existing(poolId);
        (,, submissionEnd) = _roundWindow(pool, poolId, round);
        domainId = pool.domainId;
        rewardPerRound = pool.rewardPerRound;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Start, end and submission deadline of a round of `pool` (see {roundWindow}).
    function _roundWindow(Pool storage pool, uint256 poolId, uint256 round)
        private
        view
        returns (uint256 start, uint256 end, uint256 submissionEnd)
    {
        // every field read here lives in the pool's first slot: one SLOAD
        uint256 startTime = pool.startTime;
        uint256 roundLength = pool.roundLength;
        if (startTime == 0 || round > type(uint32).max) revert ComputePoolInvalidRound(poolId, round);
        start = startTime + round * roundLength;
        end = start + roundLength;
        if (pool.status == Status.Completed && end > pool.endTime) revert ComputePoolInvalidRound(poolId, round);
        submissionEnd = end + pool.submissionWindow;
    }

        function _existing(uint256 poolId) private view returns (Pool storage pool) {
        pool = _pools[poolId];
        if (pool.status == Status.None) revert ComputePoolUnknownPool(poolId);
    }

    function _eject(uint256 poolId, address node, bytes32 reason) private {
        uint256 current = _members[node].poolId;
        // slither (incorrect-equality): false positive: pool ids, not balances; 0 means "none".
        // slither-disable-next-line incorrect-equality
        if (current == 0 || (poolId != 0 && current != poolId)) return;
        _remove(current, node);
        emit NodeEjected(current, node, reason);
    }

    /// @dev Deletes the membership; the node count of a completed pool no longer matters.
    function _remove(uint256 poolId, address node) private {
        delete _members[node];
        Pool storage pool = _pools[poolId];
        if (pool.status != Status.Completed) {
            unchecked {
                pool.nodeCount -= 1; // the node was counted when it joined this pool
            }
        }
    }
}
