// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IWorkLedger
/// @notice Work reports, validator attestations, round finalization, rewards and slashing.
///
/// A node signs its report with EIP-712 in the domain `("loranet WorkLedger", "1", chainId,
/// this)` over `WorkReport(uint256 poolId,uint256 round,address node,bytes32 adapterHash,
/// uint256 samples,uint256 loss,string artifactUri,uint8 executionMode,bytes32 replayRoot)`;
/// anyone may send it. One report per node and round, only during the round's submission window.
/// After the window, each validator attests once per round: a bitmap of accepted report indexes
/// and the next round's base adapter hash. `quorum` identical attestations decide the round.
/// Validators are expected to attest within the challenge window; attestations are still taken
/// for as long again (the grace period), so a late quorum still decides and pays. A round
/// without a quorum expires only at `expiresAt = submissionEnd + 2 * challengeWindow`: it is
/// never finalized undecided while validators may still be working. Finalizing a decided round
/// shares `rewardPerRound` among accepted reports by `samples * multiplier(mode)`, slashes the
/// providers of rejected reports and ejects those nodes, and records the next base adapter.
/// Pools are funded: the creator's reward budget sits in this contract's escrow ({deposit},
/// through the hub), each accepted report's reward is paid from it (when it runs dry the
/// remaining reports of the batch, in index order, get what is left), claims transfer
/// the rewards, and {refund} returns the rest to the creator once the pool has ended and its
/// last round expired. The ledger never mints.
/// Finalization runs in batches of at most {finalizeBatch} reports per call (each call emits
/// {RoundSettling} until the last, which emits {RoundFinalized}), so every call fits in a block
/// whatever the number of reports and rejections.
interface IWorkLedger {
    /// @notice A work report as the node signs it.
    /// @param loss Training loss, fixed point with 1e6 = 1.0.
    /// @param executionMode 0 LOCAL_GPU, 1 CUSTOM, 2 REMOTE_API.
    /// @param replayRoot Merkle root of the node's per-step replay records.
    struct WorkReport {
        uint256 poolId;
        uint256 round;
        address node;
        bytes32 adapterHash;
        uint256 samples;
        uint256 loss;
        string artifactUri;
        uint8 executionMode;
        bytes32 replayRoot;
    }

    /// @notice A stored report: one slot with what finalization needs (the rest is in
    /// {ReportSubmitted}).
    struct StoredReport {
        address node;
        uint64 samples;
        uint8 executionMode;
    }

    /// @notice Per pool and node (one slot): one past the last round the node reported, the
    /// provider credited (or slashed) for its reports, and how many of its reports are not
    /// finalized yet. The provider can change only when none is pending. Created when the node
    /// joins the pool, so that reports only update it.
    struct Reporter {
        uint64 lastRoundPlusOne;
        address provider;
        uint32 pending;
    }

    /// @notice Per-round bookkeeping (one slot). `settled` counts the reports finalization has
    /// processed so far (reports `[0, settled)`); `finalized` once `settled == reportCount`.
    struct RoundState {
        uint32 reportCount;
        uint32 accepted;
        uint32 rejected;
        bool decided;
        bool finalized;
        uint96 awarded;
        uint32 settled;
    }

    /// @notice The attestation that reached the quorum.
    struct Outcome {
        uint256 acceptBitmap;
        bytes32 nextAdapterHash;
    }

    /// @notice The report's signature is not the node key's.
    error WorkLedgerInvalidSignature(address node);
    /// @notice The execution mode is not 0, 1 or 2.
    error WorkLedgerInvalidMode(uint256 mode);
    /// @notice `samples` is 0 or above 2^64 - 1.
    error WorkLedgerInvalidSamples(uint256 samples);
    /// @notice The node is not a member of the pool, or joined after the round ended.
    error WorkLedgerNotPoolMember(uint256 poolId, address node);
    /// @notice The node's provider is blacklisted.
    error WorkLedgerProviderBlacklisted(address provider);
    /// @notice The node already reported this round (or a later one).
    error WorkLedgerDuplicateReport(uint256 poolId, uint256 round, address node);
    /// @notice The node changed provider while some of its reports in this pool (the latest of
    /// round `round`) are not finalized yet.
    error WorkLedgerPreviousReportPending(uint256 poolId, address node, uint256 round);
    /// @notice The caller is not the hub.
    error WorkLedgerUnauthorized(address caller);
    /// @notice Now is outside `[opensAt, closesAt)`, the window the call needs.
    error WorkLedgerWindowClosed(uint256 poolId, uint256 round, uint256 opensAt, uint256 closesAt);
    /// @notice The round already has {MAX_REPORTS} reports.
    error WorkLedgerTooManyReports(uint256 poolId, uint256 round);
    /// @notice The caller lacks the hub's `VALIDATOR_ROLE`.
    error WorkLedgerNotValidator(address account);
    /// @notice The validator already attested this round.
    error WorkLedgerAlreadyAttested(uint256 poolId, uint256 round, address validator);
    /// @notice The bitmap names a report index that does not exist.
    error WorkLedgerInvalidBitmap(uint256 bitmap, uint256 reportCount);
    /// @notice The round is already finalized.
    error WorkLedgerAlreadyFinalized(uint256 poolId, uint256 round);
    /// @notice The round has no quorum and does not expire before `expiresAt` (challenge window
    /// plus grace period).
    error WorkLedgerNotFinalizable(uint256 poolId, uint256 round, uint256 expiresAt);
    /// @notice The finalize batch size is 0 or above {MAX_REPORTS}.
    error WorkLedgerInvalidBatch(uint256 batch);
    /// @notice The caller has nothing to claim.
    error WorkLedgerNothingToClaim(address provider);
    /// @notice The pool has not ended, or its last round may still be decided until `refundableAt`
    /// (0 while the pool has not ended).
    error WorkLedgerPoolNotEnded(uint256 poolId, uint256 refundableAt);
    /// @notice The pool's escrow is empty.
    error WorkLedgerNothingToRefund(uint256 poolId);

    /// @notice `node` (of `provider`) reported round `round` of `poolId` as report `index`.
    event ReportSubmitted(
        uint256 indexed poolId,
        uint256 indexed round,
        address indexed node,
        address provider,
        uint256 index,
        bytes32 adapterHash,
        uint256 samples,
        uint256 loss,
        uint8 executionMode,
        bytes32 replayRoot,
        string artifactUri
    );
    /// @notice `validator` attested round `round`: the reports whose bit is set in `acceptBitmap`
    /// are accepted, the others rejected; `nextAdapterHash` is the next base adapter. `votes` is
    /// the count of identical attestations so far.
    event Attested(
        uint256 indexed poolId,
        uint256 indexed round,
        address indexed validator,
        uint256 acceptBitmap,
        bytes32 nextAdapterHash,
        uint256 votes
    );
    /// @notice The round reached its quorum with this outcome.
    event QuorumReached(uint256 indexed poolId, uint256 indexed round, uint256 acceptBitmap, bytes32 nextAdapterHash);
    /// @notice Report `index` (`node`) was accepted and `provider` accrued `reward`.
    event RewardAccrued(
        uint256 indexed poolId, uint256 indexed round, address indexed provider, address node, uint256 index, uint256 reward
    );
    /// @notice Report `index` (`node`) was rejected: `provider` was slashed `slashed` and the node ejected.
    event ReportRejected(
        uint256 indexed poolId, uint256 indexed round, address indexed provider, address node, uint256 index, uint256 slashed
    );
    /// @notice A finalize call settled the round's reports up to `settled` of `reportCount`;
    /// more calls are needed.
    event RoundSettling(uint256 indexed poolId, uint256 indexed round, uint256 settled, uint256 reportCount);
    /// @notice Round finalized. `decided` false means it expired without a quorum: nothing was
    /// paid or slashed and the base adapter did not change.
    event RoundFinalized(
        uint256 indexed poolId,
        uint256 indexed round,
        bool decided,
        uint256 accepted,
        uint256 rejected,
        uint256 awarded,
        bytes32 baseAdapterHash
    );
    /// @notice `provider` claimed `amount` (transferred from the escrow's rewards).
    event RewardsClaimed(address indexed provider, uint256 amount);
    /// @notice `from` deposited `amount` into the escrow of `poolId`, which now holds `escrow`.
    event PoolFunded(uint256 indexed poolId, address indexed from, uint256 amount, uint256 escrow);
    /// @notice The unspent `amount` of `poolId`'s escrow returned to its creator.
    event PoolRefunded(uint256 indexed poolId, address indexed creator, uint256 amount);

    /// @notice Most reports per round.
    function MAX_REPORTS() external view returns (uint256);
    /// @notice Most reports one {finalize} call settles (set at deployment).
    function finalizeBatch() external view returns (uint256);
    /// @notice Deadlines of a round: reports until `submissionEnd`, attestations expected until
    /// `challengeEnd` and taken until `expiresAt`, when a round without quorum may be finalized
    /// undecided.
    function deadlinesOf(uint256 poolId, uint256 round)
        external
        view
        returns (uint256 submissionEnd, uint256 challengeEnd, uint256 expiresAt);
    /// @notice EIP-712 type hash of `WorkReport`.
    function WORK_REPORT_TYPEHASH() external view returns (bytes32);

    /// @notice Prepares the node's {Reporter} slot when it joins a pool (first join only).
    /// @dev Requirements: caller is the hub. Bookkeeping only: {IComputePool-NodeJoined} is the event.
    function onNodeJoined(uint256 poolId, address node, address provider) external;

    /// @notice Records a node-signed work report. Anyone may send it.
    /// @dev Requirements: valid node signature; `executionMode <= 2`; `0 < samples < 2^64`;
    /// the node is a member of the pool since before the round's end; its provider is not
    /// blacklisted; now within the round's
    /// submission window; first report of the node for this round; if the node's provider
    /// changed, all its previous reports in this pool are finalized. Emits {ReportSubmitted}.
    /// @return index The report's index in the round (its bit in attestations).
    function submitReport(WorkReport calldata report, bytes calldata signature) external returns (uint256 index);

    /// @notice Attests a round. Requirements: caller has `VALIDATOR_ROLE` on the hub; now in
    /// `[submissionEnd, expiresAt)` (challenge window plus grace); not finalized; first attestation of
    /// the caller; no bit at or above the report count. Emits {Attested} (and {QuorumReached}).
    function attest(uint256 poolId, uint256 round, uint256 acceptBitmap, bytes32 nextAdapterHash) external;

    /// @notice Finalizes the next batch of at most {finalizeBatch} reports of a round decided by
    /// the quorum, or of a round without quorum once it expired (`expiresAt`). Anyone may call;
    /// call again while {roundState} is not `finalized`. Emits {RewardAccrued}/{ReportRejected}
    /// per report of the batch, then {RoundSettling}, or {RoundFinalized} for the last batch.
    function finalize(uint256 poolId, uint256 round) external;

    /// @notice Transfers the caller's accrued rewards. Requirements: something accrued; not
    /// paused. Emits {RewardsClaimed}.
    /// @return amount The tokens sent.
    function claim() external returns (uint256 amount);

    /// @notice Moves `amount` from `from` (which approved this contract, e.g. by permit) into the
    /// escrow of `poolId`. Requirements: caller is the hub. Emits {PoolFunded} (none for 0).
    function deposit(uint256 poolId, address from, uint256 amount) external;

    /// @notice Returns the unspent escrow of an ended pool to its creator; anyone may call.
    /// Requirements: the pool completed; now >= `endTime + submissionWindow + 2 *
    /// challengeWindow` (its last round expired); escrow not empty; not paused.
    /// Emits {PoolRefunded}.
    /// @return amount The tokens returned.
    function refund(uint256 poolId) external returns (uint256 amount);

    /// @notice Stops {claim} and {refund}. Requirements: caller is the hub.
    function pause() external;
    /// @notice Resumes {claim} and {refund}. Requirements: caller is the hub.
    function unpause() external;

    /// @notice Rewards `provider` can claim.
    function pendingRewards(address provider) external view returns (uint256);
    /// @notice Bookkeeping of a round.
    function roundState(uint256 poolId, uint256 round) external view returns (RoundState memory);
    /// @notice The quorum's outcome of a round (zero while undecided).
    function outcomeOf(uint256 poolId, uint256 round) external view returns (Outcome memory);
    /// @notice Report `index` of a round.
    function reportOf(uint256 poolId, uint256 round, uint256 index) external view returns (StoredReport memory);
    /// @notice Whether `validator` attested the round.
    function hasAttested(uint256 poolId, uint256 round, address validator) external view returns (bool);
    /// @notice The pool's current base adapter hash (set by the latest decided round; 0 = empty adapter).
    function baseAdapterOf(uint256 poolId) external view returns (bytes32);
    /// @notice What is left in the escrow of `poolId`.
    function escrowOf(uint256 poolId) external view returns (uint256);
    /// @notice The {Reporter} record of `node` in `poolId`.
    function reporterOf(uint256 poolId, address node) external view returns (Reporter memory);
}
