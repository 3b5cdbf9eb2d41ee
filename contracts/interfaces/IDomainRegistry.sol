// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IDomainRegistry
/// @notice Kinds of work (`lora-finetune`, `inference`) and their validation policy.
interface IDomainRegistry {
    /// @notice How reports are executed; the domain gives each a reward multiplier.
    enum ExecutionMode {
        LOCAL_GPU,
        CUSTOM,
        REMOTE_API
    }

    /// @notice A domain's validation policy (one storage slot).
    /// @param quorum Identical validator attestations that decide a round (>= 1).
    /// @param challengeWindow Seconds after a round's submission window during which validators attest.
    /// @param evalTolerance Off-chain eval tolerance, fixed point with 1e6 = 1.0 (read by validators).
    /// @param localGpuMultiplierBps Reward multiplier of `LOCAL_GPU` reports (10000 = 1.0).
    /// @param customMultiplierBps Reward multiplier of `CUSTOM` reports.
    /// @param remoteApiMultiplierBps Reward multiplier of `REMOTE_API` reports.
    /// @param slashBps Part of the provider's slashable stake taken for a rejected report.
    /// @param slashAmount Fixed amount (wei) taken for a rejected report, on top of `slashBps`.
    struct Policy {
        uint8 quorum;
        uint32 challengeWindow;
        uint32 evalTolerance;
        uint16 localGpuMultiplierBps;
        uint16 customMultiplierBps;
        uint16 remoteApiMultiplierBps;
        uint16 slashBps;
        uint96 slashAmount;
    }

    /// @notice No domain has this id.
    error DomainRegistryUnknownDomain(uint256 domainId);
    /// @notice A domain with this name exists.
    error DomainRegistryNameTaken(string name);
    /// @notice The policy is invalid (quorum 0, challenge window 0, a multiplier 0, or slashBps > 10000).
    error DomainRegistryInvalidPolicy();

    /// @notice Domain `domainId` named `name` was created with `policy`.
    event DomainCreated(uint256 indexed domainId, string name, Policy policy);
    /// @notice Domain `domainId`'s policy became `policy`.
    event DomainUpdated(uint256 indexed domainId, Policy policy);

    /// @notice Creates a domain. Requirements: caller is the hub; name unused; valid policy.
    /// Emits {DomainCreated}.
    function createDomain(string calldata name, Policy calldata policy) external returns (uint256 domainId);

    /// @notice Replaces a domain's policy (applies to rounds attested/finalized afterwards).
    /// Requirements: caller is the hub; domain exists; valid policy. Emits {DomainUpdated}.
    function updateDomain(uint256 domainId, Policy calldata policy) external;

    /// @notice The policy of `domainId` (reverts for an unknown id).
    function policyOf(uint256 domainId) external view returns (Policy memory);

    /// @notice The multiplier (bps) of `mode` in `domainId`.
    function multiplierOf(uint256 domainId, ExecutionMode mode) external view returns (uint256);

    /// @notice The id of the domain named `name`, 0 if none.
    function domainIdOf(string calldata name) external view returns (uint256);

    /// @notice Number of domains (ids are 1..domainCount).
    function domainCount() external view returns (uint256);
}
