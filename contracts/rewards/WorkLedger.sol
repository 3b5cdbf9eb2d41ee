// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IComputePool} from "../interfaces/IComputePool.sol";
import {IComputeRegistry} from "../interfaces/IComputeRegistry.sol";
import {IDomainRegistry} from "../interfaces/IDomainRegistry.sol";
import {IHubModule} from "../interfaces/IHubModule.sol";
import {IStakeManager} from "../interfaces/IStakeManager.sol";
import {IWorkLedger} from "../interfaces/IWorkLedger.sol";

/// @title WorkLedger
/// @notice Signed work reports per pool and round, validator attestations with a quorum,
/// finalization (rewards by samples x mode multiplier, slashing of rejected work, the next base
/// adapter), and the pools' escrow: a pool creator deposits the reward budget here (through
/// the hub, with a permit), accepted work is paid from it, claims transfer it, and what is left
/// returns to the creator once the pool has ended and its last round can no longer be decided.
/// Nothing is minted here.
/// @dev Every loop runs over one round's reports: at most {MAX_REPORTS} (a pool has at most
/// `MAX_NODES` = 256 members and only members since before the round's end may report).
contract WorkLedger is IWorkLedger, EIP712, ReentrancyGuardTransient, Pausable {
    using SafeERC20 for IERC20;

    /// @inheritdoc IWorkLedger
    uint256 public constant MAX_REPORTS = 256;
    /// @inheritdoc IWorkLedger
    bytes32 public constant WORK_REPORT_TYPEHASH = keccak256(
        "WorkReport(uint256 poolId,uint256 round,address node,bytes32 adapterHash,uint256 samples,uint256 loss,string artifactUri,uint8 executionMode,bytes32 replayRoot)"
    );
    bytes32 private constant _VALIDATOR_ROLE = keccak256("VALIDATOR_ROLE");
    bytes32 private constant _REJECTED = "REJECTED";

    /// @notice The network hub (holds `VALIDATOR_ROLE`).
    address public immutable hub;
    /// @notice The LORA token of the escrow and the rewards.
    address public immutable token;
    /// @notice The stake manager that slashes rejected work.
    IStakeManager public immutable stakeManager;
    /// @notice The compute registry (provider blacklist).
    IComputeRegistry public immutable computeRegistry;
    /// @notice The domain registry (policies).
    IDomainRegistry public immutable domainRegistry;
    /// @notice The pools (round clock, membership).
    IComputePool public immutable computePool;
    /// @inheritdoc IWorkLedger
    uint256 public immutable finalizeBatch;


    // slither (uninitialized-state): false positive: written through storage pointers only
    // (submitReport, attest, finalize), which slither does not follow.
    // slither-disable-next-line uninitialized-state
    mapping(uint256 poolId => mapping(uint256 round => RoundState)) private _rounds;
    mapping(uint256 poolId => mapping(uint256 round => mapping(uint256 index => StoredReport))) private _reports;
    mapping(uint256 poolId => mapping(address node => Reporter)) private _reporters;
    mapping(uint256 poolId => mapping(uint256 round => Outcome)) private _outcomes;
    mapping(uint256 poolId => mapping(uint256 round => mapping(address validator => bool))) private _attested;
    mapping(uint256 poolId => mapping(uint256 round => mapping(bytes32 vote => uint256 count))) private _votes;
    mapping(uint256 poolId => bytes32) private _baseAdapter;
    mapping(uint256 poolId => uint256 roundPlusOne) private _baseAdapterRound;
    mapping(address provider => uint256) private _pending;
    mapping(uint256 poolId => uint256) private _escrow;

    /// @param hub_ The network hub.
    /// @param token_ The LORA token.
    /// @param stakeManager_ The stake manager.
    /// @param computeRegistry_ The compute registry.
    /// @param domainRegistry_ The domain registry.
    /// @param computePool_ The pools.
    /// @param finalizeBatch_ Most reports one {finalize} call settles (1..MAX_REPORTS).
    constructor(
        address hub_,
        address token_,
        address stakeManager_,
        address computeRegistry_,
        address domainRegistry_,
        address computePool_,
        uint256 finalizeBatch_
    ) EIP712("loranet WorkLedger", "1") {
        if (
            hub_ == address(0) || token_ == address(0) || stakeManager_ == address(0)
                || computeRegistry_ == address(0) || domainRegistry_ == address(0) || computePool_ == address(0)
        ) revert IHubModule.HubModuleZeroAddress();
        if (finalizeBatch_ == 0 || finalizeBatch_ > MAX_REPORTS) revert WorkLedgerInvalidBatch(finalizeBatch_);
        finalizeBatch = finalizeBatch_;
        computeRegistry = IComputeRegistry(computeRegistry_);
        hub = hub_;
        token = token_;
        stakeManager = IStakeManager(stakeManager_);
        domainRegistry = IDomainRegistry(domainRegistry_);
        computePool = IComputePool(computePool_);
    }

    // ------------------------------------------------------------------ reports

    /// @inheritdoc IWorkLedger
    function onNodeJoined(uint256 poolId, address node, address provider) external {
        if (msg.sender != hub) revert WorkLedgerUnauthorized(msg.sender);
        Reporter storage rep = _reporters[poolId][node];
        if (rep.provider == address(0)) rep.provider = provider;
    }

    /// @inheritdoc IWorkLedger
    function submitReport(WorkReport calldata report, bytes calldata signature) external returns (uint256 index) {
        uint256 poolId = report.poolId;
        uint256 round = report.round;
        address node = report.node;
        if (report.executionMode > uint8(IDomainRegistry.ExecutionMode.REMOTE_API)) {
            revert WorkLedgerInvalidMode(report.executionMode);
        }
        if (report.samples == 0 || report.samples > type(uint64).max) revert WorkLedgerInvalidSamples(report.samples);

        // slither (unused-return): accepted: the round's start is not needed here.
        // slither-disable-next-line unused-return
        (, uint256 end, uint256 submissionEnd) = computePool.roundWindow(poolId, round);
        if (block.timestamp < end || block.timestamp >= submissionEnd) {
            revert WorkLedgerWindowClosed(poolId, round, end, submissionEnd);
        }
        IComputePool.Membership memory m = computePool.membershipOf(node);
        if (m.poolId != poolId || m.joinedAt >= end) revert WorkLedgerNotPoolMember(poolId, node);
        if (computeRegistry.providerOf(m.provider).blacklisted) revert WorkLedgerProviderBlacklisted(m.provider);
        // windows of successive rounds do not overlap, so "reported this round or later" is one slot per node
        Reporter memory rep = _reporters[poolId][node];
        if (rep.lastRoundPlusOne > round) revert WorkLedgerDuplicateReport(poolId, round, node);
        if (rep.provider != m.provider && rep.pending != 0) {
            // the node moved to another provider: its reports must be settled first, since
            // finalization credits (or slashes) the provider recorded here
            revert WorkLedgerPreviousReportPending(poolId, node, rep.lastRoundPlusOne - 1);
        }
        if (!SignatureChecker.isValidSignatureNowCalldata(node, _reportDigest(report), signature)) {
            revert WorkLedgerInvalidSignature(node);
        }

        RoundState storage rs = _rounds[poolId][round];
        index = rs.reportCount;
        if (index >= MAX_REPORTS) revert WorkLedgerTooManyReports(poolId, round);
        unchecked {
            rs.reportCount = uint32(index + 1); // < MAX_REPORTS
        }
        // round < 2^32 (ComputePool.roundWindow), samples < 2^64 (checked above)
        // pending counts this node's unfinalized reports in this pool: far below 2^32
        _reporters[poolId][node] =
            Reporter({lastRoundPlusOne: uint64(round + 1), provider: m.provider, pending: rep.pending + 1});
        _reports[poolId][round][index] =
            StoredReport({node: node, samples: uint64(report.samples), executionMode: report.executionMode});
        _emitReport(report, m.provider, index);
    }

    /// @dev Emits {ReportSubmitted} (a separate frame keeps the stack shallow).
    function _emitReport(WorkReport calldata report, address provider, uint256 index) private {
        emit ReportSubmitted(
            report.poolId,
            report.round,
            report.node,
            provider,
            index,
            report.adapterHash,
            report.samples,
            report.loss,
            report.executionMode,
            report.replayRoot,
            report.artifactUri
        );
    }

    // ------------------------------------------------------------------ attestations

    /// @inheritdoc IWorkLedger
    function attest(uint256 poolId, uint256 round, uint256 acceptBitmap, bytes32 nextAdapterHash) external {
        if (!IAccessControl(hub).hasRole(_VALIDATOR_ROLE, msg.sender)) revert WorkLedgerNotValidator(msg.sender);
        RoundState storage rs = _rounds[poolId][round];
        if (rs.finalized) revert WorkLedgerAlreadyFinalized(poolId, round);
        (uint256 submissionEnd, IDomainRegistry.Policy memory policy,) = _context(poolId, round);
        // the challenge window plus as long again of grace: a late quorum still decides (and pays)
        uint256 expiresAt = submissionEnd + 2 * uint256(policy.challengeWindow);
        if (block.timestamp < submissionEnd || block.timestamp >= expiresAt) {
            revert WorkLedgerWindowClosed(poolId, round, submissionEnd, expiresAt);
        }
        if (_attested[poolId][round][msg.sender]) revert WorkLedgerAlreadyAttested(poolId, round, msg.sender);
        uint256 count = rs.reportCount;
        if (count < 256 && acceptBitmap >> count != 0) revert WorkLedgerInvalidBitmap(acceptBitmap, count);

        _attested[poolId][round][msg.sender] = true;
        uint256 votes = ++_votes[poolId][round][keccak256(abi.encode(acceptBitmap, nextAdapterHash))];
        emit Attested(poolId, round, msg.sender, acceptBitmap, nextAdapterHash, votes);
        if (!rs.decided && votes >= policy.quorum) {
            rs.decided = true;
            _outcomes[poolId][round] = Outcome(acceptBitmap, nextAdapterHash);
            emit QuorumReached(poolId, round, acceptBitmap, nextAdapterHash);
        }
    }

    // ------------------------------------------------------------------ finalization

    /// @inheritdoc IWorkLedger
    function finalize(uint256 poolId, uint256 round) external nonReentrant {
        RoundState memory rs = _rounds[poolId][round];
        if (rs.finalized) revert WorkLedgerAlreadyFinalized(poolId, round);
        (uint256 submissionEnd, IDomainRegistry.Policy memory policy, uint256 rewardPerRound) =
            _context(poolId, round);
        if (!rs.decided) {
            uint256 expiresAt = submissionEnd + 2 * uint256(policy.challengeWindow);
            if (block.timestamp < expiresAt) revert WorkLedgerNotFinalizable(poolId, round, expiresAt);
        }
        // one batch of at most `finalizeBatch` reports per call: [from, to)
        uint256 n = rs.reportCount;
        uint256 from = rs.settled;
        uint256 to = n - from > finalizeBatch ? from + finalizeBatch : n;
        rs.settled = uint32(to); // <= n <= MAX_REPORTS
        rs.finalized = to == n;
        bytes32 baseAdapter;
        // slither (uninitialized-local): intended: an undecided round slashes nobody.
        // slither-disable-next-line uninitialized-local
        Batch memory b;
        if (rs.decided) {
            (b, baseAdapter) = _settleDecided(poolId, round, rs, from, to, policy, rewardPerRound);
        } else {
            for (uint256 i = from; i < to; ++i) {
                _settle(poolId, _reports[poolId][round][i].node);
            }
            baseAdapter = _baseAdapter[poolId];
        }
        // the fields finalization changes, written in one straight-line block (one SSTORE)
        RoundState storage st = _rounds[poolId][round];
        st.accepted = rs.accepted;
        st.rejected = rs.rejected;
        st.finalized = rs.finalized;
        st.awarded = rs.awarded;
        st.settled = rs.settled;
        if (rs.decided) _slashRejected(b, policy);
        if (rs.finalized) {
            emit RoundFinalized(poolId, round, rs.decided, rs.accepted, rs.rejected, rs.awarded, baseAdapter);
        } else {
            emit RoundSettling(poolId, round, to, n);
        }
    }

    /// @dev One finalize call's work on a decided round (a memory struct keeps the stack shallow).
    struct Batch {
        uint256 poolId;
        uint256 round;
        uint256 from;
        uint256 to;
        uint256 acceptBitmap;
        uint256 rewardPerRound;
        uint256 totalWeight;
        uint256 escrow;
    }

    /// @dev The effects of one batch `[from, to)` of a decided round: rewards of accepted
    /// reports (counted into `rs`, which the caller stores), the escrow and the base adapter.
    /// Returns the batch for {_slashRejected} (the interactions) and the round's next base adapter.
    function _settleDecided(
        uint256 poolId,
        uint256 round,
        RoundState memory rs,
        uint256 from,
        uint256 to,
        IDomainRegistry.Policy memory policy,
        uint256 rewardPerRound
    ) private returns (Batch memory b, bytes32) {
        Outcome memory outcome = _outcomes[poolId][round];
        b = Batch(poolId, round, from, to, outcome.acceptBitmap, rewardPerRound, 0, _escrow[poolId]);
        // every batch shares by the weight of the whole round: at most MAX_REPORTS reads
        for (uint256 i; i < rs.reportCount; ++i) {
            if (b.acceptBitmap & (1 << i) != 0) {
                StoredReport memory r = _reports[poolId][round][i];
                b.totalWeight += uint256(r.samples) * _multiplier(policy, r.executionMode);
            }
        }
        // effects: rewards of the batch's accepted reports (sum of floors <= rewardPerRound)
        // slither (uninitialized-local): intended: the batch's sum starts at 0.
        // slither-disable-next-line uninitialized-local
        uint256 awarded;
        for (uint256 i = from; i < to; ++i) {
            if (b.acceptBitmap & (1 << i) != 0) {
                awarded += _accrue(b, i, policy);
                rs.accepted += 1;
            } else {
                _settle(poolId, _reports[poolId][round][i].node);
                rs.rejected += 1;
            }
        }
        rs.awarded += uint96(awarded); // the round's awards <= rewardPerRound < 2^96
        if (awarded != 0) _escrow[poolId] = b.escrow;
        if (rs.finalized && round + 1 > _baseAdapterRound[poolId]) {
            _baseAdapterRound[poolId] = round + 1;
            _baseAdapter[poolId] = outcome.nextAdapterHash;
        }
        return (b, outcome.nextAdapterHash);
    }

    /// @dev Interactions last: slashes the providers and ejects the nodes of the batch's
    /// rejected reports.
    function _slashRejected(Batch memory b, IDomainRegistry.Policy memory policy) private {
        for (uint256 i = b.from; i < b.to; ++i) {
            if (b.acceptBitmap & (1 << i) == 0) {
                address node = _reports[b.poolId][b.round][i].node;
                address provider = _reporters[b.poolId][node].provider;
                uint256 slashed = stakeManager.slash(provider, policy.slashAmount, policy.slashBps, _REJECTED);
                computePool.eject(b.poolId, node, _REJECTED);
                emit ReportRejected(b.poolId, b.round, provider, node, i, slashed);
            }
        }
    }

    /// @dev Settles accepted report `i` and credits its provider; returns the reward.
    function _accrue(Batch memory b, uint256 i, IDomainRegistry.Policy memory policy)
        private
        returns (uint256 reward)
    {
        StoredReport memory r = _reports[b.poolId][b.round][i];
        address provider = _settle(b.poolId, r.node);
        reward = (b.rewardPerRound * uint256(r.samples) * _multiplier(policy, r.executionMode)) / b.totalWeight;
        // paid from the pool's escrow: when it runs dry, the reports in index order get what is left
        if (reward > b.escrow) reward = b.escrow;
        unchecked {
            b.escrow -= reward; // reward <= escrow
        }
        _pending[provider] += reward;
        emit RewardAccrued(b.poolId, b.round, provider, r.node, i, reward);
    }

    // ------------------------------------------------------------------ rewards

    /// @inheritdoc IWorkLedger
    function claim() external nonReentrant whenNotPaused returns (uint256 amount) {
        amount = _pending[msg.sender];
        if (amount == 0) revert WorkLedgerNothingToClaim(msg.sender);
        _pending[msg.sender] = 0;
        emit RewardsClaimed(msg.sender, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ escrow

    /// @inheritdoc IWorkLedger
    function deposit(uint256 poolId, address from, uint256 amount) external {
        if (msg.sender != hub) revert WorkLedgerUnauthorized(msg.sender);
        if (amount == 0) return;
        uint256 escrow = _escrow[poolId] + amount;
        _escrow[poolId] = escrow;
        emit PoolFunded(poolId, from, amount, escrow);
        // slither (arbitrary-send-erc20): accepted: only the hub calls deposit, always with
        // `from == msg.sender` of the hub (the creator or funder pays for itself).
        // slither-disable-next-line arbitrary-send-erc20
        IERC20(token).safeTransferFrom(from, address(this), amount);
    }

    /// @inheritdoc IWorkLedger
    function refund(uint256 poolId) external nonReentrant whenNotPaused returns (uint256 amount) {
        IComputePool.Pool memory pool = computePool.poolOf(poolId);
        if (pool.status != IComputePool.Status.Completed) revert WorkLedgerPoolNotEnded(poolId, 0);
        uint256 refundableAt = pool.endTime + pool.submissionWindow
            + 2 * uint256(domainRegistry.policyOf(pool.domainId).challengeWindow);
        if (block.timestamp < refundableAt) revert WorkLedgerPoolNotEnded(poolId, refundableAt);
        amount = _escrow[poolId];
        if (amount == 0) revert WorkLedgerNothingToRefund(poolId);
        _escrow[poolId] = 0;
        emit PoolRefunded(poolId, pool.creator, amount);
        IERC20(token).safeTransfer(pool.creator, amount);
    }

    /// @inheritdoc IWorkLedger
    function pause() external {
        if (msg.sender != hub) revert WorkLedgerUnauthorized(msg.sender);
        _pause();
    }

    /// @inheritdoc IWorkLedger
    function unpause() external {
        if (msg.sender != hub) revert WorkLedgerUnauthorized(msg.sender);
        _unpause();
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IWorkLedger
    function pendingRewards(address provider) external view returns (uint256) {
        return _pending[provider];
    }

    /// @inheritdoc IWorkLedger
    function roundState(uint256 poolId, uint256 round) external view returns (RoundState memory) {
        return _rounds[poolId][round];
    }

    /// @inheritdoc IWorkLedger
    function outcomeOf(uint256 poolId, uint256 round) external view returns (Outcome memory) {
        return _outcomes[poolId][round];
    }

    /// @inheritdoc IWorkLedger
    function reportOf(uint256 poolId, uint256 round, uint256 index) external view returns (StoredReport memory) {
        return _reports[poolId][round][index];
    }

    /// @inheritdoc IWorkLedger
    function hasAttested(uint256 poolId, uint256 round, address validator) external view returns (bool) {
        return _attested[poolId][round][validator];
    }

    /// @inheritdoc IWorkLedger
    function deadlinesOf(uint256 poolId, uint256 round)
        external
        view
        returns (uint256 submissionEnd, uint256 challengeEnd, uint256 expiresAt)
    {
        IDomainRegistry.Policy memory policy;
        (submissionEnd, policy,) = _context(poolId, round);
        challengeEnd = submissionEnd + policy.challengeWindow;
        expiresAt = challengeEnd + policy.challengeWindow;
    }

    /// @inheritdoc IWorkLedger
    function reporterOf(uint256 poolId, address node) external view returns (Reporter memory) {
        return _reporters[poolId][node];
    }

    /// @inheritdoc IWorkLedger
    function escrowOf(uint256 poolId) external view returns (uint256) {
        return _escrow[poolId];
    }

    /// @inheritdoc IWorkLedger
    function baseAdapterOf(uint256 poolId) external view returns (bytes32) {
        return _baseAdapter[poolId];
    }

    // ------------------------------------------------------------------ internals

    function _reportDigest(WorkReport calldata report) private view returns (bytes32) {
        bytes memory head = abi.encode(
            WORK_REPORT_TYPEHASH, report.poolId, report.round, report.node, report.adapterHash, report.samples
        );
        bytes memory tail = abi.encode(
            report.loss, keccak256(bytes(report.artifactUri)), report.executionMode, report.replayRoot
        );
        return _hashTypedDataV4(keccak256(bytes.concat(head, tail)));
    }

    /// @dev Submission deadline of the round, the pool's domain policy and its reward per round.
    function _context(uint256 poolId, uint256 round)
        private
        view
        returns (uint256 submissionEnd, IDomainRegistry.Policy memory policy, uint256 rewardPerRound)
    {
        uint256 domainId;
        (submissionEnd, domainId, rewardPerRound) = computePool.roundContext(poolId, round);
        policy = domainRegistry.policyOf(domainId);
    }

    /// @dev Marks one report of `node` in `poolId` finalized; returns its provider (which cannot
    /// have changed while the report was pending).
    function _settle(uint256 poolId, address node) private returns (address provider) {
        Reporter storage rep = _reporters[poolId][node];
        unchecked {
            rep.pending -= 1; // counted when the report was submitted
        }
        return rep.provider;
    }

    function _multiplier(IDomainRegistry.Policy memory policy, uint8 mode) private pure returns (uint256) {
        if (mode == uint8(IDomainRegistry.ExecutionMode.LOCAL_GPU)) return policy.localGpuMultiplierBps;
        if (mode == uint8(IDomainRegistry.ExecutionMode.CUSTOM)) return policy.customMultiplierBps;
        return policy.remoteApiMultiplierBps;
    }
}
