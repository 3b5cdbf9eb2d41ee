// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorStorage} from "@openzeppelin/contracts/governance/extensions/GovernorStorage.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";

/// @title LoraGovernor
/// @notice loranet's governance: LORA holders (their delegated ERC-5805 votes) propose, vote
/// (for / against / abstain) and queue proposals; the {TimelockController} that holds every
/// admin role of the protocol executes them after its delay. Voting delay, voting period,
/// proposal threshold and quorum fraction are deploy parameters (changeable by governance).
/// A proposal that succeeded but was not queued within {queuePeriod} blocks of its voting
/// deadline expires (`ProposalState.Expired`), so an old majority cannot be replayed much later.
/// @dev Proposals are stored ({GovernorStorage}): `queue(proposalId)` and `execute(proposalId)`
/// work with the id alone, and `proposalDetails` lets a client show them. Clock: block numbers
/// (the token's).
contract LoraGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorStorage,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    /// @notice Blocks after the voting deadline during which a succeeded proposal may be queued.
    uint256 public immutable queuePeriod;

    /// @param token The LORA token (ERC-5805 votes).
    /// @param timelock The timelock that executes proposals and holds the admin roles.
    /// @param votingDelay_ Blocks between a proposal and the start of its vote.
    /// @param votingPeriod_ Blocks the vote lasts.
    /// @param proposalThreshold_ Votes (wei of LORA) needed to propose.
    /// @param quorumFraction_ Quorum as a percentage of the total supply's votes.
    /// @param queuePeriod_ Blocks after the deadline to queue a succeeded proposal (> 0).
    constructor(
        IVotes token,
        TimelockController timelock,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 proposalThreshold_,
        uint256 quorumFraction_,
        uint256 queuePeriod_
    )
        Governor("loranet Governor")
        GovernorSettings(votingDelay_, votingPeriod_, proposalThreshold_)
        GovernorVotes(token)
        GovernorVotesQuorumFraction(quorumFraction_)
        GovernorTimelockControl(timelock)
    {
        if (queuePeriod_ == 0) revert GovernorInvalidQueuePeriod(queuePeriod_);
        queuePeriod = queuePeriod_;
    }

    /// @notice The queue period is 0.
    error GovernorInvalidQueuePeriod(uint256 queuePeriod);

    /// @notice As {Governor-state}, plus `Expired` for a succeeded proposal not queued in time.
    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        ProposalState current = super.state(proposalId);
        if (current == ProposalState.Succeeded && clock() > proposalDeadline(proposalId) + queuePeriod) {
            return ProposalState.Expired;
        }
        return current;
    }

    // ------------------------------------------------------------------ required overrides

    /// @inheritdoc Governor
    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    /// @inheritdoc Governor
    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    /// @inheritdoc Governor
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    /// @inheritdoc Governor
    function quorum(uint256 timepoint) public view override(Governor, GovernorVotesQuorumFraction) returns (uint256) {
        return super.quorum(timepoint);
    }

    /// @inheritdoc Governor
    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    function _propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description,
        address proposer
    ) internal override(Governor, GovernorStorage) returns (uint256) {
        return super._propose(targets, values, calldatas, description, proposer);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
