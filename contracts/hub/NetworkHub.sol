// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {PackedPausable} from "../common/PackedPausable.sol";
import {IComputePool} from "../interfaces/IComputePool.sol";
import {IComputeRegistry} from "../interfaces/IComputeRegistry.sol";
import {IDomainRegistry} from "../interfaces/IDomainRegistry.sol";
import {IHubModule} from "../interfaces/IHubModule.sol";
import {INetworkHub} from "../interfaces/INetworkHub.sol";
import {IStakeManager} from "../interfaces/IStakeManager.sol";
import {IWorkLedger} from "../interfaces/IWorkLedger.sol";

/// @title NetworkHub
/// @notice The entry point of loranet: providers register, stake, unbond, withdraw, add and
/// remove nodes, join and leave pools here; admins, validators and pool creators manage the
/// network here. The hub holds the roles and enforces the minimum-stake rule and the rule that
/// every round's verdict comes before an unbond made after its report can mature; the modules
/// it wires accept state changes only from it (and the work ledger). The guardian may pause the
/// value-moving calls (here, in the stake manager and in the work ledger); only the admin
/// (governance's timelock) unpauses.
contract NetworkHub is INetworkHub, AccessControl, PackedPausable {
    using SafeCast for uint256;

    /// @inheritdoc INetworkHub
    bytes32 public constant VALIDATOR_ROLE = keccak256("VALIDATOR_ROLE");
    /// @inheritdoc INetworkHub
    bytes32 public constant POOL_CREATOR_ROLE = keccak256("POOL_CREATOR_ROLE");
    /// @inheritdoc INetworkHub
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    bytes32 private constant _BLACKLISTED = "BLACKLISTED";
    bytes32 private constant _INVALIDATED = "INVALIDATED";

    /// @inheritdoc INetworkHub
    address public immutable token;

    // Storage packing (gas, issue 19): the pause flag (PackedPausable's last variable) shares one
    // slot with the stake parameters, which every pausable provider call reads anyway; what
    // createPool checks besides (the verdict-span bookkeeping and the domain count) shares the
    // pools' slot, which it reads anyway. The longest submission window is kept by the compute
    // pool next to its pool counter, which createPool writes anyway.

    /// @inheritdoc INetworkHub
    uint96 public baseStake;
    /// @inheritdoc INetworkHub
    uint96 public perUnitStake;

    /// @inheritdoc INetworkHub
    address public stakeManager;
    /// @inheritdoc INetworkHub
    address public computeRegistry;
    /// @inheritdoc INetworkHub
    address public domainRegistry;
    /// @inheritdoc INetworkHub
    address public computePool;
    /// @inheritdoc INetworkHub
    uint32 public maxChallengeWindow;
    /// @dev The stake manager's unbonding period, copied at {wire} and on every
    /// {setUnbondingPeriod} (the only way to change it), so that the verdict-span rule costs no
    /// external call. Range: at most the stake manager's maximum period (365 days < 2^32).
    uint32 private _unbondingPeriod;
    /// @dev The domain registry's `domainCount`, copied at {wire} and on every {createDomain}
    /// (only the hub creates domains, none are deleted), so that createPool checks a pool's
    /// domain (ids 1..count) without a call to the registry. Range: one domain per admin call;
    /// a count above 2^32 - 1 reverts {createDomain} (SafeCast).
    uint32 private _domainCount;

    /// @inheritdoc INetworkHub
    address public workLedger;

    /// @param admin Receives `DEFAULT_ADMIN_ROLE`.
    /// @param token_ The LORA token.
    /// @param baseStake_ Initial base stake.
    /// @param perUnitStake_ Initial stake per compute unit.
    constructor(address admin, address token_, uint256 baseStake_, uint256 perUnitStake_) {
        if (admin == address(0) || token_ == address(0)) revert IHubModule.HubModuleZeroAddress();
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setStakeParams(baseStake_, perUnitStake_);
    }

    // ------------------------------------------------------------------ admin

    /// @inheritdoc INetworkHub
    function wire(Modules calldata modules) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (workLedger != address(0)) revert NetworkHubAlreadyWired();
        _checkModule(modules.stakeManager);
        _checkModule(modules.computeRegistry);
        _checkModule(modules.domainRegistry);
        _checkModule(modules.computePool);
        _checkModule(modules.workLedger);
        stakeManager = modules.stakeManager;
        computeRegistry = modules.computeRegistry;
        domainRegistry = modules.domainRegistry;
        computePool = modules.computePool;
        workLedger = modules.workLedger;
        _unbondingPeriod = IStakeManager(modules.stakeManager).unbondingPeriod();
        _domainCount = IDomainRegistry(modules.domainRegistry).domainCount().toUint32();
        emit ModulesWired(modules);
    }

    /// @inheritdoc INetworkHub
    function setStakeParams(uint256 baseStake_, uint256 perUnitStake_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setStakeParams(baseStake_, perUnitStake_);
    }

    /// @inheritdoc INetworkHub
    function setUnbondingPeriod(uint256 period) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkVerdictSpan(period, _maxSubmissionWindow(), maxChallengeWindow);
        // a period above the stake manager's maximum (365 days < 2^32) reverts the whole call
        _unbondingPeriod = uint32(period);
        IStakeManager(stakeManager).setUnbondingPeriod(period);
    }

    /// @inheritdoc INetworkHub
    function pause() external {
        if (!hasRole(GUARDIAN_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, GUARDIAN_ROLE);
        }
        _pause();
        IStakeManager(stakeManager).pause();
        IWorkLedger(workLedger).pause();
    }

    /// @inheritdoc INetworkHub
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
        IStakeManager(stakeManager).unpause();
        IWorkLedger(workLedger).unpause();
    }

    /// @inheritdoc INetworkHub
    function setSlashSplit(uint256 burnBps, address treasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        IStakeManager(stakeManager).setSlashSplit(burnBps, treasury);
    }

    /// @inheritdoc INetworkHub
    function slash(address provider, uint256 amount, bytes32 reason)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint256)
    {
        return IStakeManager(stakeManager).slash(provider, amount, 0, reason);
    }

    /// @inheritdoc INetworkHub
    function createDomain(string calldata name, IDomainRegistry.Policy calldata policy)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint256)
    {
        _noteChallengeWindow(policy.challengeWindow);
        uint256 domainId = IDomainRegistry(domainRegistry).createDomain(name, policy);
        _domainCount = domainId.toUint32(); // ids count up from 1: the new id is the count
        return domainId;
    }

    /// @inheritdoc INetworkHub
    function updateDomain(uint256 domainId, IDomainRegistry.Policy calldata policy)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _noteChallengeWindow(policy.challengeWindow);
        IDomainRegistry(domainRegistry).updateDomain(domainId, policy);
    }

    /// @inheritdoc INetworkHub
    function setProviderBlacklisted(address provider, bool blacklisted) external onlyRole(DEFAULT_ADMIN_ROLE) {
        IComputeRegistry(computeRegistry).setProviderBlacklisted(provider, blacklisted);
    }

    /// @inheritdoc INetworkHub
    function setNodeBlacklisted(address node, bool blacklisted) external onlyRole(DEFAULT_ADMIN_ROLE) {
        IComputeRegistry(computeRegistry).setNodeBlacklisted(node, blacklisted);
        if (blacklisted) IComputePool(computePool).eject(0, node, _BLACKLISTED);
    }

    /// @inheritdoc INetworkHub
    function setNodeValidated(address node, bool validated) external onlyRole(VALIDATOR_ROLE) {
        IComputeRegistry(computeRegistry).setNodeValidated(node, validated);
        if (!validated) IComputePool(computePool).eject(0, node, _INVALIDATED);
    }

    // ------------------------------------------------------------------ pool creators

    /// @inheritdoc INetworkHub
    function createPool(
        IComputePool.PoolParams calldata params,
        uint256 budget,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external onlyRole(POOL_CREATOR_ROLE) whenNotPaused returns (uint256 poolId) {
        // one SLOAD: the pools' address, the period, the longest challenge window and the
        // domain count share a slot
        (address pools, uint256 period, uint256 maxChallenge, uint256 domains) =
            (computePool, _unbondingPeriod, maxChallengeWindow, _domainCount);
        // checked for every pool, not only for a new longest window: a window no longer than the
        // longest so far passes anyway (the setters keep the rule for the longest), so the
        // outcome is the same and the pool keeps the longest window where it writes anyway
        _checkVerdictSpan(period, params.submissionWindow, maxChallenge);
        poolId = IComputePool(pools).createPool(params, msg.sender);
        // after the pool's own parameter checks (the order of the reverts as before)
        uint256 domainId = params.domainId;
        if (domainId == 0 || domainId > domains) revert IDomainRegistry.DomainRegistryUnknownDomain(domainId);
        _deposit(poolId, budget, deadline, v, r, s);
    }

    /// @inheritdoc INetworkHub
    function fundPool(uint256 poolId, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        whenNotPaused
    {
        if (IComputePool(computePool).poolOf(poolId).status == IComputePool.Status.Completed) {
            revert NetworkHubPoolEnded(poolId);
        }
        _deposit(poolId, amount, deadline, v, r, s);
    }

    /// @inheritdoc INetworkHub
    function startPool(uint256 poolId) external {
        _checkPoolCreator(poolId);
        IComputePool(computePool).startPool(poolId);
    }

    /// @inheritdoc INetworkHub
    function endPool(uint256 poolId) external {
        _checkPoolCreator(poolId);
        IComputePool(computePool).endPool(poolId);
    }

    /// @inheritdoc INetworkHub
    function setPoolMetadataUri(uint256 poolId, string calldata metadataUri) external {
        _checkPoolCreator(poolId);
        IComputePool(computePool).setMetadataUri(poolId, metadataUri);
    }

    /// @inheritdoc INetworkHub
    function setPoolBlacklisted(uint256 poolId, address node, bool blacklisted) external {
        _checkPoolCreator(poolId);
        IComputePool(computePool).setPoolBlacklisted(poolId, node, blacklisted);
    }

    // ------------------------------------------------------------------ providers

    /// @inheritdoc INetworkHub
    function registerProvider(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        (uint256 base,) = _stakeParamsWhenNotPaused();
        address sm = stakeManager;
        if (deadline != 0) {
            // a front-run permit must not block registration: fall back to the allowance
            try IERC20Permit(token).permit(msg.sender, sm, amount, deadline, v, r, s) {} catch {}
        }
        IComputeRegistry(computeRegistry).registerProvider(msg.sender);
        uint256 staked = IStakeManager(sm).stakeFor(msg.sender, amount);
        if (staked < base) revert NetworkHubInsufficientStake(msg.sender, staked, base);
    }

    /// @inheritdoc INetworkHub
    function deregisterProvider() external {
        IComputeRegistry(computeRegistry).deregisterProvider(msg.sender);
    }

    /// @inheritdoc INetworkHub
    function stake(uint256 amount) external whenNotPaused {
        // slither (unused-return): accepted: the new stake is in the Staked event; no rule applies here.
        // slither-disable-next-line unused-return
        IStakeManager(stakeManager).stakeFor(msg.sender, amount);
    }

    /// @inheritdoc INetworkHub
    function unbond(uint256 amount) external returns (uint256 requestId) {
        (uint256 base, uint256 perUnit) = _stakeParamsWhenNotPaused();
        address sm = stakeManager;
        uint256 staked = IStakeManager(sm).stakedOf(msg.sender);
        uint256 required = _minStake(msg.sender, base, perUnit);
        if (amount > staked || staked - amount < required) {
            revert NetworkHubInsufficientStake(msg.sender, amount > staked ? 0 : staked - amount, required);
        }
        return IStakeManager(sm).requestUnbond(msg.sender, amount);
    }

    /// @inheritdoc INetworkHub
    function addNode(address node, uint32 computeUnits, bytes32 specsHash, uint256 deadline, bytes calldata signature)
        external
    {
        uint256 totalUnits = IComputeRegistry(computeRegistry).addNode(
            msg.sender, node, computeUnits, specsHash, deadline, signature
        );
        uint256 required = baseStake + perUnitStake * totalUnits;
        uint256 staked = IStakeManager(stakeManager).stakedOf(msg.sender);
        if (staked < required) revert NetworkHubInsufficientStake(msg.sender, staked, required);
    }

    /// @inheritdoc INetworkHub
    function removeNode(address node) external {
        if (IComputePool(computePool).inActivePool(node)) revert NetworkHubNodeInActivePool(node);
        IComputeRegistry(computeRegistry).removeNode(msg.sender, node);
    }

    /// @inheritdoc INetworkHub
    function joinPool(uint256 poolId, address node, uint256 deadline, bytes calldata signature) external {
        (uint256 base, uint256 perUnit) = _stakeParamsWhenNotPaused();
        IComputeRegistry registry = IComputeRegistry(computeRegistry);
        IComputeRegistry.Node memory n = registry.nodeOf(node);
        if (n.provider != msg.sender) revert NetworkHubNotNodeOwner(node, msg.sender);
        if (!n.validated || n.blacklisted) revert NetworkHubNodeNotEligible(node);
        IComputeRegistry.Provider memory p = registry.providerOf(msg.sender);
        if (p.blacklisted) revert NetworkHubNodeNotEligible(node);
        uint256 required = base + perUnit * p.totalComputeUnits;
        uint256 staked = IStakeManager(stakeManager).stakedOf(msg.sender);
        if (staked < required) revert NetworkHubInsufficientStake(msg.sender, staked, required);
        IComputePool(computePool).join(poolId, node, msg.sender, n.computeUnits, deadline, signature);
        IWorkLedger(workLedger).onNodeJoined(poolId, node, msg.sender);
    }

    /// @inheritdoc INetworkHub
    function leavePool(address node) external {
        if (IComputeRegistry(computeRegistry).nodeOf(node).provider != msg.sender) {
            revert NetworkHubNotNodeOwner(node, msg.sender);
        }
        // slither (unused-return): accepted: the pool id it returns is emitted in NodeLeft already.
        // slither-disable-next-line unused-return
        IComputePool(computePool).leave(node);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc INetworkHub
    function maxSubmissionWindow() external view returns (uint32) {
        return _maxSubmissionWindow();
    }

    /// @inheritdoc INetworkHub
    function minStakeOf(address provider) external view returns (uint256) {
        return _minStake(provider, baseStake, perUnitStake);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Reverts with {EnforcedPause} while paused (the `whenNotPaused` of the provider calls);
    /// returns the stake parameters, read from the flag's slot in the same SLOAD.
    function _stakeParamsWhenNotPaused() private view returns (uint256 base, uint256 perUnit) {
        (bool paused_, uint256 base_, uint256 perUnit_) = (_paused, baseStake, perUnitStake);
        if (paused_) revert EnforcedPause();
        return (base_, perUnit_);
    }

    /// @dev The stake `provider` must keep: 0 unless registered.
    function _minStake(address provider, uint256 base, uint256 perUnit) private view returns (uint256) {
        IComputeRegistry.Provider memory p = IComputeRegistry(computeRegistry).providerOf(provider);
        if (!p.registered) return 0;
        return base + perUnit * p.totalComputeUnits;
    }

    function _setStakeParams(uint256 baseStake_, uint256 perUnitStake_) private {
        baseStake = baseStake_.toUint96();
        perUnitStake = perUnitStake_.toUint96();
        emit StakeParamsSet(baseStake_, perUnitStake_);
    }

    /// @dev Every module, the ledger included, exposes `hub()`: it must be this hub.
    function _checkModule(address module) private view {
        if (module.code.length == 0 || IHubModule(module).hub() != address(this)) {
            revert NetworkHubInvalidModule(module);
        }
    }

    /// @dev Moves `amount` of the caller's LORA into the pool's escrow in the work ledger; with
    /// `deadline != 0` first applies the caller's permit to the ledger (ignored if it fails, e.g.
    /// front-run, so that an existing allowance still works).
    function _deposit(uint256 poolId, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) private {
        if (amount == 0 && deadline == 0) return; // nothing to permit, nothing to escrow
        address ledger = workLedger;
        if (deadline != 0) {
            try IERC20Permit(token).permit(msg.sender, ledger, amount, deadline, v, r, s) {} catch {}
        }
        // the ledger ignores an empty deposit (no event, no transfer): skip the call
        if (amount != 0) IWorkLedger(ledger).deposit(poolId, msg.sender, amount);
    }

    /// @dev Records a domain's challenge window; a new largest one must fit the unbonding period.
    function _noteChallengeWindow(uint32 challengeWindow) private {
        if (challengeWindow > maxChallengeWindow) {
            _checkVerdictSpan(_unbondingPeriod, _maxSubmissionWindow(), challengeWindow);
            maxChallengeWindow = challengeWindow;
        }
    }

    /// @dev The longest submission window of any pool, which the compute pool records.
    function _maxSubmissionWindow() private view returns (uint32) {
        return IComputePool(computePool).maxSubmissionWindow();
    }

    /// @dev A report is submitted at or after its round's end; the round's verdict comes at the
    /// latest `submissionWindow + 2 * challengeWindow` later (challenge window plus the same
    /// again of grace, see {IWorkLedger}). An unbond requested after the report must not mature
    /// before that, or the provider could withdraw what a rejection would slash.
    function _checkVerdictSpan(uint256 unbondingPeriod, uint256 submissionWindow, uint256 challengeWindow)
        private
        pure
    {
        uint256 span = submissionWindow + 2 * challengeWindow;
        if (unbondingPeriod < span) revert NetworkHubUnbondingTooShort(unbondingPeriod, span);
    }

    function _checkPoolCreator(uint256 poolId) private view {
        if (
            IComputePool(computePool).poolOf(poolId).creator != msg.sender
                && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)
        ) revert NetworkHubNotPoolCreator(poolId, msg.sender);
    }
}

