// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IComputePool} from "../interfaces/IComputePool.sol";
import {IComputeRegistry} from "../interfaces/IComputeRegistry.sol";
import {IDomainRegistry} from "../interfaces/IDomainRegistry.sol";
import {IHubModule} from "../interfaces/IHubModule.sol";
import {ILoraToken} from "../interfaces/ILoraToken.sol";
import {IStakeManager} from "../interfaces/IStakeManager.sol";
import {IWorkLedger} from "../interfaces/IWorkLedger.sol";

/// @title WorkLedger
/// @notice Signed work reports per pool and round, validator attestations with a quorum,
/// finalization (rewards by samples x mode multiplier, slashing of rejected work, the next base
/// adapter), and claims that mint LORA (this contract holds the token's `MINTER_ROLE`).
/// @dev Every loop runs over one round's reports: at most {MAX_REPORTS} (a pool has at most
/// `MAX_NODES` = 256 members and only members since before the round's end may report).
contract WorkLedger is IWorkLedger, EIP712, ReentrancyGuardTransient {
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
    /// @notice The LORA token minted on claims.
    address public immutable token;
    /// @notice The stake manager that slashes rejected work.
    IStakeManager public immutable stakeManager;
    /// @notice The compute registry (provider blacklist).
    IComputeRegistry public immutable computeRegistry;
    /// @notice The domain registry (policies).
    IDomainRegistry public immutable domainRegistry;
    /// @notice The pools (round clock, membership).
    IComputePool public immutable computePool;
    uint256 private immutable _cap;

    /// @inheritdoc IWorkLedger
    uint256 public totalAwarded;

    mapping(uint256 poolId => mapping(uint256 round => RoundState)) private _rounds;
    mapping(uint256 poolId => mapping(uint256 round => mapping(uint256 index => StoredReport))) private _reports;
    mapping(uint256 poolId => mapping(address node => Reporter)) private _reporters;
    mapping(uint256 poolId => mapping(uint256 round => Outcome)) private _outcomes;
    mapping(uint256 poolId => mapping(uint256 round => mapping(address validator => bool))) private _attested;
    mapping(uint256 poolId => mapping(uint256 round => mapping(bytes32 vote => uint256 count))) private _votes;
    mapping(uint256 poolId => bytes32) private _baseAdapter;
    mapping(uint256 poolId => uint256 roundPlusOne) private _baseAdapterRound;
    mapping(address provider => uint256) private _pending;

    /// @param hub_ The network hub.
    /// @param token_ The LORA token.
    /// @param stakeManager_ The stake manager.
    /// @param computeRegistry_ The compute registry.
    /// @param domainRegistry_ The domain registry.
    /// @param computePool_ The pools.
    constructor(
        address hub_,
        address token_,
        address stakeManager_,
        address computeRegistry_,
        address domainRegistry_,
        address computePool_
    ) EIP712("loranet WorkLedger", "1") {
        if (
            hub_ == address(0) || token_ == address(0) || stakeManager_ == address(0)
                || computeRegistry_ == address(0) || domainRegistry_ == address(0) || computePool_ == address(0)
        ) revert IHubModule.HubModuleZeroAddress();
        computeRegistry = IComputeRegistry(computeRegistry_);
        hub = hub_;
        token = token_;
        stakeManager = IStakeManager(stakeManager_);
        domainRegistry = IDomainRegistry(domainRegistry_);
        computePool = IComputePool(computePool_);
        _cap = ILoraToken(token_).cap();
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
        uint256 challengeEnd = submissionEnd + policy.challengeWindow;
        if (block.timestamp < submissionEnd || block.timestamp >= challengeEnd) {
            revert WorkLedgerWindowClosed(poolId, round, submissionEnd, challengeEnd);
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
            uint256 challengeEnd = submissionEnd + policy.challengeWindow;
            if (block.timestamp < challengeEnd) revert WorkLedgerNotFinalizable(poolId, round, challengeEnd);
        }
        rs.finalized = true;
        uint256 n = rs.reportCount;
        if (!rs.decided) {
            for (uint256 i; i < n; ++i) {
                _settle(poolId, _reports[poolId][round][i].node);
            }
            _rounds[poolId][round] = rs;
            emit RoundFinalized(poolId, round, false, 0, 0, 0, _baseAdapter[poolId]);
            return;
        }

        Outcome memory outcome = _outcomes[poolId][round];
        uint256 totalWeight;
        for (uint256 i; i < n; ++i) {
            if (outcome.acceptBitmap & (1 << i) != 0) {
                StoredReport memory r = _reports[poolId][round][i];
                totalWeight += uint256(r.samples) * _multiplier(policy, r.executionMode);
            }
        }
        // effects: rewards of accepted reports (sum of floors <= rewardPerRound)
        for (uint256 i; i < n; ++i) {
            StoredReport memory r = _reports[poolId][round][i];
            address provider = _settle(poolId, r.node);
            if (outcome.acceptBitmap & (1 << i) != 0) {
                uint256 reward =
                    (rewardPerRound * uint256(r.samples) * _multiplier(policy, r.executionMode)) / totalWeight;
                _pending[provider] += reward;
                rs.awarded += uint96(reward); // awarded <= rewardPerRound < 2^96
                rs.accepted += 1;
                emit RewardAccrued(poolId, round, provider, r.node, i, reward);
            } else {
                rs.rejected += 1;
            }
        }
        _rounds[poolId][round] = rs;
        totalAwarded += rs.awarded;
        if (round + 1 > _baseAdapterRound[poolId]) {
            _baseAdapterRound[poolId] = round + 1;
            _baseAdapter[poolId] = outcome.nextAdapterHash;
        }
        // interactions: slash and eject the nodes of rejected reports
        for (uint256 i; i < n; ++i) {
            if (outcome.acceptBitmap & (1 << i) == 0) {
                StoredReport memory r = _reports[poolId][round][i];
                address provider = _reporters[poolId][r.node].provider;
                uint256 slashed = stakeManager.slash(provider, policy.slashAmount, policy.slashBps, _REJECTED);
                computePool.eject(poolId, r.node, _REJECTED);
                emit ReportRejected(poolId, round, provider, r.node, i, slashed);
            }
        }
        emit RoundFinalized(poolId, round, true, rs.accepted, rs.rejected, rs.awarded, outcome.nextAdapterHash);
    }

    // ------------------------------------------------------------------ rewards

    /// @inheritdoc IWorkLedger
    function claim() external nonReentrant returns (uint256 amount) {
        uint256 owed = _pending[msg.sender];
        if (owed == 0) revert WorkLedgerNothingToClaim(msg.sender);
        uint256 supply = IERC20(token).totalSupply();
        uint256 room = _cap > supply ? _cap - supply : 0;
        amount = owed < room ? owed : room;
        if (amount == 0) revert WorkLedgerCapReached(owed);
        unchecked {
            _pending[msg.sender] = owed - amount; // amount <= owed
        }
        emit RewardsClaimed(msg.sender, amount, owed - amount);
        ILoraToken(token).mint(msg.sender, amount);
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
    function reporterOf(uint256 poolId, address node) external view returns (Reporter memory) {
        return _reporters[poolId][node];
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
        (,, submissionEnd) = computePool.roundWindow(poolId, round);
        IComputePool.Pool memory pool = computePool.poolOf(poolId);
        policy = domainRegistry.policyOf(pool.domainId);
        rewardPerRound = pool.rewardPerRound;
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
