// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// Slither's entry point (`make audit`): imports every deployed contract so one analysis covers
// them all. Not deployed and not compiled by Ape (it lives outside contracts/).
import {NetworkHub} from "../../contracts/hub/NetworkHub.sol";
import {StakeManager} from "../../contracts/staking/StakeManager.sol";
import {ComputeRegistry} from "../../contracts/registry/ComputeRegistry.sol";
import {DomainRegistry} from "../../contracts/registry/DomainRegistry.sol";
import {ComputePool} from "../../contracts/pools/ComputePool.sol";
import {WorkLedger} from "../../contracts/rewards/WorkLedger.sol";
import {LoraToken} from "../../contracts/token/LoraToken.sol";
import {LoraFaucet} from "../../contracts/token/LoraFaucet.sol";
import {LoraGovernor} from "../../contracts/governance/LoraGovernor.sol";
import {LoraTimelock} from "../../contracts/governance/LoraTimelock.sol";
