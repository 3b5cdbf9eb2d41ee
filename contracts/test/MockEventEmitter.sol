// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title MockEventEmitter (test only)
/// @notice Emits many events cheaply, to benchmark and test the off-chain event watcher.
contract MockEventEmitter {
    /// @notice One benchmark event: two indexed topics and two data words.
    event Ping(uint256 indexed id, address indexed sender, uint256 value, bytes32 tag);

    uint256 private _next;

    /// @notice Emits `count` {Ping} events with consecutive ids.
    function emitBatch(uint256 count) external {
        uint256 id = _next;
        for (uint256 i = 0; i < count; ++i) {
            emit Ping(id + i, msg.sender, i, keccak256(abi.encode(id + i)));
        }
        _next = id + count;
    }
}
