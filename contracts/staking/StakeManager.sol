// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {HubModule} from "../common/HubModule.sol";
import {ILoraToken} from "../interfaces/ILoraToken.sol";
import {IStakeManager} from "../interfaces/IStakeManager.sol";

/// @title StakeManager
/// @notice Holds providers' LORA stake: stake, unbond (locked for the unbonding period), withdraw,
/// slash (split between burning and the treasury). Only the hub (and the work ledger, for slashing)
/// changes state, except {withdraw}, which a provider calls directly (one call less: the cheapest
/// path for the most frequent exit).
/// @dev Unbond requests of a provider form a FIFO queue `[head, tail)` of at most
/// {MAX_PENDING_UNBONDS} entries whose `releaseAt` never decreases, so every loop is bounded and
/// matured requests are always a prefix of the queue. No request in the queue is empty: a slash
/// takes the newest requests first and pops those it empties, and {withdraw} moves the head
/// past every matured request, so the queue can never fill up with zeroed requests.
contract StakeManager is IStakeManager, HubModule, ReentrancyGuardTransient, Pausable {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @inheritdoc IStakeManager
    uint256 public constant MAX_PENDING_UNBONDS = 16;
    /// @notice Longest unbonding period the hub may set.
    uint256 public constant MAX_UNBONDING_PERIOD = 365 days;
    uint256 private constant _BPS = 10_000;

    /// @notice The LORA token.
    IERC20 public immutable token;

    // Pausable's flag, the unbonding period and the stake totals (bounded by the token's cap
    // < 2^96) share one slot (1 + 4 + 12 + 12 bytes): withdraw and unbond read the pause flag and
    // the period with the totals they update. Tokens deposited = staked + unbonding + slashed +
    // withdrawn (withdrawals are counted from {Withdrawn} events).
    /// @notice Seconds an unbond request stays locked.
    uint32 public unbondingPeriod;
    /// @notice Sum of all free stakes.
    uint96 public totalStaked;
    /// @notice Sum of all pending unbond requests.
    uint96 public totalUnbonding;
    /// @notice Tokens ever slashed.
    uint256 public totalSlashed;
    /// @notice Part of each slash that is burned, in basis points (the rest goes to the treasury).
    uint16 public burnBps;
    /// @notice Receives the non-burned part of slashes.
    address public treasury;

    mapping(address provider => Account) private _accounts;
    mapping(address provider => mapping(uint256 id => UnbondRequest)) private _requests;

    /// @param hub_ The network hub.
    /// @param token_ The LORA token.
    /// @param unbondingPeriod_ Initial unbonding period (seconds).
    /// @param burnBps_ Initial burned part of slashes (bps).
    /// @param treasury_ Initial treasury.
    constructor(address hub_, address token_, uint256 unbondingPeriod_, uint256 burnBps_, address treasury_)
        HubModule(hub_)
    {
        if (token_ == address(0)) revert HubModuleZeroAddress();
        token = IERC20(token_);
        _setUnbondingPeriod(unbondingPeriod_);
        _setSlashSplit(burnBps_, treasury_);
    }

    // ------------------------------------------------------------------ hub-only mutations

    /// @inheritdoc IStakeManager
    function stakeFor(address provider, uint256 amount) external onlyHub nonReentrant returns (uint256 staked) {
        if (amount == 0) revert StakeManagerZeroAmount();
        Account storage acct = _accounts[provider];
        staked = acct.staked + amount;
        if (staked > type(uint96).max) revert StakeManagerAmountTooLarge(staked);
        acct.staked = uint96(staked);
        totalStaked += uint96(amount);
        emit Staked(provider, amount, staked);
        // slither (arbitrary-send-erc20): accepted: only the hub calls stakeFor, always with
        // `provider == msg.sender` of the hub (a provider stakes its own tokens).
        // slither-disable-next-line arbitrary-send-erc20
        token.safeTransferFrom(provider, address(this), amount);
    }

    /// @inheritdoc IStakeManager
    function requestUnbond(address provider, uint256 amount) external onlyHub returns (uint256 requestId) {
        if (amount == 0) revert StakeManagerZeroAmount();
        Account memory acct = _accounts[provider];
        if (amount > acct.staked) revert StakeManagerInsufficientStake(provider, acct.staked, amount);
        if (acct.tail - acct.head >= MAX_PENDING_UNBONDS) {
            revert StakeManagerTooManyUnbonds(provider, MAX_PENDING_UNBONDS);
        }
        uint256 releaseAt = block.timestamp + unbondingPeriod;
        if (acct.tail > acct.head) {
            // keep release times monotone even if the period was shortened
            uint256 last = _requests[provider][acct.tail - 1].releaseAt;
            if (last > releaseAt) releaseAt = last;
        }
        requestId = acct.tail;
        unchecked {
            // amount <= staked; unbonding + amount <= total supply < 2^96; tail < 2^32 in practice
            acct.staked -= uint96(amount);
            acct.unbonding += uint96(amount);
            acct.tail += 1;
            totalStaked -= uint96(amount);
            totalUnbonding += uint96(amount);
        }
        _accounts[provider] = acct;
        _requests[provider][requestId] = UnbondRequest(uint96(amount), uint64(releaseAt));
        emit UnbondRequested(provider, requestId, amount, releaseAt);
    }

    /// @inheritdoc IStakeManager
    function withdraw() external nonReentrant whenNotPaused returns (uint256 amount) {
        address provider = msg.sender;
        Account memory acct = _accounts[provider];
        uint32 from = acct.head;
        uint32 i = from;
        // bounded: tail - head <= MAX_PENDING_UNBONDS
        while (i < acct.tail) {
            UnbondRequest memory req = _requests[provider][i];
            if (req.releaseAt > block.timestamp) break;
            amount += req.amount;
            delete _requests[provider][i];
            unchecked {
                ++i;
            }
        }
        // the head moves past every matured request, even one a slash reduced to zero
        if (i == from) revert StakeManagerNothingToWithdraw(provider);
        unchecked {
            // the withdrawn requests are part of `unbonding`
            acct.unbonding -= uint96(amount);
            totalUnbonding -= uint96(amount);
        }
        acct.head = i;
        _accounts[provider] = acct;
        emit Withdrawn(provider, amount, from, i);
        if (amount > 0) token.safeTransfer(provider, amount);
    }

    /// @inheritdoc IStakeManager
    function pause() external onlyHub {
        _pause();
    }

    /// @inheritdoc IStakeManager
    function unpause() external onlyHub {
        _unpause();
    }

    /// @inheritdoc IStakeManager
    function slash(address provider, uint256 amount, uint256 bps, bytes32 reason)
        external
        onlyHubOrLedger
        nonReentrant
        returns (uint256 slashed)
    {
        if (bps > _BPS) revert StakeManagerInvalidBps(bps);
        Account memory acct = _accounts[provider];
        uint256 slashable = acct.staked + _immatureUnbonding(provider, acct);
        uint256 target = amount + (slashable * bps) / _BPS;
        slashed = target < slashable ? target : slashable;

        uint256 fromStake = slashed < acct.staked ? slashed : acct.staked;
        uint256 fromUnbonding = slashed - fromStake;
        unchecked {
            acct.staked -= uint96(fromStake); // fromStake <= staked
        }
        if (fromUnbonding > 0) {
            // newest first; stops before the first matured request (the immature ones cover it).
            // A request emptied here is the newest one left, so it is popped: the queue never
            // holds empty requests that would count against MAX_PENDING_UNBONDS.
            uint256 left = fromUnbonding;
            uint32 i = acct.tail;
            while (left > 0 && i > acct.head) {
                unchecked {
                    --i;
                }
                UnbondRequest storage req = _requests[provider][i];
                uint256 have = req.amount;
                if (have <= left) {
                    delete _requests[provider][i];
                    acct.tail = i;
                    unchecked {
                        left -= have;
                    }
                } else {
                    unchecked {
                        req.amount = uint96(have - left);
                    }
                    left = 0;
                }
            }
            unchecked {
                acct.unbonding -= uint96(fromUnbonding);
                totalUnbonding -= uint96(fromUnbonding);
            }
        }
        _accounts[provider] = acct;
        unchecked {
            totalStaked -= uint96(fromStake);
        }
        totalSlashed += slashed;

        uint256 burned = (slashed * burnBps) / _BPS;
        uint256 toTreasury = slashed - burned;
        emit Slashed(provider, slashed, fromStake, fromUnbonding, burned, toTreasury, reason);
        if (burned > 0) ILoraToken(address(token)).burn(burned);
        if (toTreasury > 0) token.safeTransfer(treasury, toTreasury);
    }

    /// @inheritdoc IStakeManager
    function setUnbondingPeriod(uint256 period) external onlyHub {
        _setUnbondingPeriod(period);
    }

    /// @inheritdoc IStakeManager
    function setSlashSplit(uint256 burnBps_, address treasury_) external onlyHub {
        _setSlashSplit(burnBps_, treasury_);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IStakeManager
    function stakedOf(address provider) external view returns (uint256) {
        return _accounts[provider].staked;
    }

    /// @inheritdoc IStakeManager
    function unbondingOf(address provider) external view returns (uint256) {
        return _accounts[provider].unbonding;
    }

    /// @inheritdoc IStakeManager
    function withdrawableOf(address provider) external view returns (uint256 amount) {
        Account memory acct = _accounts[provider];
        for (uint32 i = acct.head; i < acct.tail; ++i) {
            UnbondRequest memory req = _requests[provider][i];
            if (req.releaseAt > block.timestamp) break;
            amount += req.amount;
        }
    }

    /// @inheritdoc IStakeManager
    function slashableOf(address provider) external view returns (uint256) {
        Account memory acct = _accounts[provider];
        return acct.staked + _immatureUnbonding(provider, acct);
    }

    /// @inheritdoc IStakeManager
    function accountOf(address provider) external view returns (Account memory) {
        return _accounts[provider];
    }

    /// @inheritdoc IStakeManager
    function unbondRequest(address provider, uint256 id) external view returns (UnbondRequest memory) {
        return _requests[provider][id];
    }

    // ------------------------------------------------------------------ internals

    /// @dev Sum of the requests that have not matured: a suffix of the queue (release times are monotone).
    function _immatureUnbonding(address provider, Account memory acct) private view returns (uint256 sum) {
        uint32 i = acct.tail;
        while (i > acct.head) {
            unchecked {
                --i;
            }
            UnbondRequest memory req = _requests[provider][i];
            if (req.releaseAt <= block.timestamp) break;
            sum += req.amount;
        }
    }

    function _setUnbondingPeriod(uint256 period) private {
        if (period > MAX_UNBONDING_PERIOD) revert StakeManagerInvalidUnbondingPeriod(period);
        unbondingPeriod = period.toUint32();
        emit UnbondingPeriodSet(period);
    }

    function _setSlashSplit(uint256 burnBps_, address treasury_) private {
        if (burnBps_ > _BPS) revert StakeManagerInvalidBps(burnBps_);
        if (treasury_ == address(0)) revert StakeManagerZeroTreasury();
        burnBps = uint16(burnBps_);
        treasury = treasury_;
        emit SlashSplitSet(burnBps_, treasury_);
    }
}
