// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IStakeManager
/// @notice Errors, events and functions of the loranet stake manager: providers stake LORA,
/// request unbonds (locked for the unbonding period, at most {MAX_PENDING_UNBONDS} at once),
/// withdraw matured unbonds, and are slashed by the hub or the work ledger. A slash takes free
/// stake first, then unbonds that have not matured yet (newest first); matured unbonds are never
/// slashed, so they always stay withdrawable. Slashed tokens are split between burning and the
/// treasury in basis points.
interface IStakeManager {
    /// @notice A provider's stake account (all amounts in wei of LORA).
    /// @param staked Free (bonded) stake: counts towards the minimum stake, slashable.
    /// @param unbonding Sum of the pending unbond requests (matured or not).
    /// @param head Index of the oldest pending unbond request.
    /// @param tail Index one past the newest unbond request.
    struct Account {
        uint96 staked;
        uint96 unbonding;
        uint32 head;
        uint32 tail;
    }

    /// @notice One unbond request.
    /// @param amount Tokens still locked in this request (a slash may have reduced it).
    /// @param releaseAt Timestamp from which the request can be withdrawn.
    struct UnbondRequest {
        uint96 amount;
        uint64 releaseAt;
    }

    /// @notice `amount` is zero.
    error StakeManagerZeroAmount();
    /// @notice The provider asked to unbond more than its free stake.
    error StakeManagerInsufficientStake(address provider, uint256 staked, uint256 requested);
    /// @notice The provider already has the maximum number of pending unbond requests.
    error StakeManagerTooManyUnbonds(address provider, uint256 max);
    /// @notice No unbond request of the provider has matured.
    error StakeManagerNothingToWithdraw(address provider);
    /// @notice A basis-point value is above 10000.
    error StakeManagerInvalidBps(uint256 bps);
    /// @notice The treasury address is zero.
    error StakeManagerZeroTreasury();
    /// @notice The unbonding period is above {MAX_UNBONDING_PERIOD}.
    error StakeManagerInvalidUnbondingPeriod(uint256 period);
    /// @notice An amount does not fit the packed 96-bit storage.
    error StakeManagerAmountTooLarge(uint256 amount);

    /// @notice `provider` staked `amount`; `staked` is its new free stake.
    event Staked(address indexed provider, uint256 amount, uint256 staked);
    /// @notice `provider` asked to unbond `amount`, withdrawable from `releaseAt`.
    event UnbondRequested(address indexed provider, uint256 indexed requestId, uint256 amount, uint256 releaseAt);
    /// @notice `provider` withdrew `amount` of matured unbonds (requests `fromId` to `toId` - 1).
    event Withdrawn(address indexed provider, uint256 amount, uint256 fromId, uint256 toId);
    /// @notice `provider` was slashed `amount` (`fromStake` + `fromUnbonding`); `burned` were
    /// burned and `toTreasury` sent to the treasury. `reason` is a caller-defined tag.
    event Slashed(
        address indexed provider,
        uint256 amount,
        uint256 fromStake,
        uint256 fromUnbonding,
        uint256 burned,
        uint256 toTreasury,
        bytes32 indexed reason
    );
    /// @notice The unbonding period changed.
    event UnbondingPeriodSet(uint256 period);
    /// @notice The slash split changed: `burnBps` of each slash is burned, the rest goes to `treasury`.
    event SlashSplitSet(uint256 burnBps, address treasury);

    /// @notice Upper bound of pending unbond requests per provider (bounds every loop).
    function MAX_PENDING_UNBONDS() external view returns (uint256);

    /// @notice Stakes `amount` for `provider`, pulling the tokens from `provider` (which must have
    /// approved this contract, e.g. with an ERC-2612 permit).
    /// @dev Requirements: caller is the hub. Emits {Staked}.
    /// @return staked The provider's free stake after the call.
    function stakeFor(address provider, uint256 amount) external returns (uint256 staked);

    /// @notice Moves `amount` of `provider`'s free stake into a new unbond request.
    /// @dev Requirements: caller is the hub (which enforces the minimum stake). Emits {UnbondRequested}.
    /// @return requestId The id of the new request.
    function requestUnbond(address provider, uint256 amount) external returns (uint256 requestId);

    /// @notice Sends every matured unbond request of the caller to the caller. Providers call
    /// this directly (not through the hub).
    /// @dev Requirements: at least one request has matured; not paused. Emits {Withdrawn}.
    /// @return amount The tokens sent.
    function withdraw() external returns (uint256 amount);

    /// @notice Stops {withdraw}. Requirements: caller is the hub (its guardian pauses everything).
    function pause() external;

    /// @notice Resumes {withdraw}. Requirements: caller is the hub (governance unpauses).
    function unpause() external;

    /// @notice Slashes `provider` by `amount + slashable * bps / 10000`, capped at what is
    /// slashable (free stake plus unbonds that have not matured).
    /// @dev Requirements: caller is the hub or the work ledger. Emits {Slashed} (also when 0).
    /// @return slashed The tokens actually taken.
    function slash(address provider, uint256 amount, uint256 bps, bytes32 reason) external returns (uint256 slashed);

    /// @notice Sets the unbonding period for new requests. Requirements: caller is the hub.
    function setUnbondingPeriod(uint256 period) external;

    /// @notice Sets the slash split. Requirements: caller is the hub; `burnBps <= 10000`; treasury not zero.
    function setSlashSplit(uint256 burnBps, address treasury) external;

    /// @notice Seconds an unbond request stays locked.
    function unbondingPeriod() external view returns (uint32);
    /// @notice Free stake of `provider`.
    function stakedOf(address provider) external view returns (uint256);
    /// @notice Sum of `provider`'s pending unbond requests.
    function unbondingOf(address provider) external view returns (uint256);
    /// @notice Sum of `provider`'s matured, withdrawable unbond requests.
    function withdrawableOf(address provider) external view returns (uint256);
    /// @notice What a slash can take from `provider`: free stake plus unbonds not yet matured.
    function slashableOf(address provider) external view returns (uint256);
    /// @notice The whole account of `provider`.
    function accountOf(address provider) external view returns (Account memory);
    /// @notice Unbond request `id` of `provider`.
    function unbondRequest(address provider, uint256 id) external view returns (UnbondRequest memory);
}
