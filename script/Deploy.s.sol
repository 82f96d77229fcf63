// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RunEscrow} from "../contracts/RunEscrow.sol";
import {StakeVault} from "../contracts/StakeVault.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {IUSDC} from "../contracts/interfaces/IUSDC.sol";
import {MockUSDC} from "../contracts/mocks/MockUSDC.sol";
import {VM_ADDRESS, Vm} from "../tests/utils/Vm.sol";

/// @title Deploy
/// @notice Deploys the marketplace the way `runs deploy` does, and writes the same manifest,
/// `deployments/<chainId>.json`:
///
///     forge script script/Deploy.s.sol --rpc-url $RPC_URL --private-key $PRIVATE_KEY --broadcast
///
/// Order: MockUSDC (chain 31337 only, unless USDC is set), StakeVault (owned by the deployer),
/// RunEscrow (owned by OWNER), `StakeVault.setRunEscrow`, then `StakeVault.transferOwnership(OWNER)`
/// when OWNER is not the deployer: the vault is Ownable2Step, so OWNER must call
/// `acceptOwnership()` on it to complete the hand-over.
///
/// Settings come from the environment (forge also reads `.env`), with the SPEC defaults:
/// USDC (the chain's known USDC, or a MockUSDC on 31337), OWNER (the deployer), ARBITRATOR (the
/// deployer on 31337; required on every other chain, where it should be a contract that can
/// rotate its keys), TREASURY (the deployer; on 31337, where the deployer is the arbitrator, the
/// keyless address `DEV_TREASURY`, since the arbitrator may never be the treasury), FEE_BPS (500),
/// MIN_STAKE_UNITS (20000000 = 20 USDC, in base units, unlike `runs deploy --min-stake` which
/// takes decimal USDC), CLAIM_TIMEOUT, REVIEW_PERIOD, UNSTAKE_COOLDOWN (604800 seconds each),
/// DISPUTE_WINDOW (259200), RULING_PERIOD (1209600), STRIKES_TO_BAN (3), ESTABLISHED_COMPLETIONS
/// (5), ESTABLISHED_AGE (2592000 seconds), COMMIT ("unknown"), DEPLOYMENTS_DIR ("deployments";
/// must stay under ./deployments, the only directory foundry.toml lets scripts write), FORCE
/// (false: refuse to overwrite an existing manifest, like `runs deploy` without --force).
///
/// The manifest differs from `runs deploy`'s in one way: a script cannot know the hashes of the
/// transactions forge broadcasts after it returns, so every `txHash` is the zero hash, and
/// `blockNumber` is the block the script ran on, at or just before the real deployment block,
/// which is what the indexer needs (a start block that is not too late). The real hashes are in
/// forge's `broadcast/Deploy.s.sol/<chainId>/run-latest.json`.
contract Deploy {
    Vm private constant VM = Vm(VM_ADDRESS);

    uint256 private constant DEV_CHAIN_ID = 31337;
    uint256 private constant DAY = 86400;
    /// @notice The dev chain's default treasury: keccak256("runs.devnet.treasury"), an address no
    /// one holds a key for (the same default as `runs deploy`).
    address public constant DEV_TREASURY = address(uint160(uint256(keccak256("runs.devnet.treasury"))));

    /// @notice No USDC is known for this chain and none was given.
    error DeployUnknownUsdc(uint256 chainId);
    /// @notice A manifest exists for this chain and FORCE is not set.
    error DeployManifestExists(string path);
    /// @notice A parameter does not fit the width the vault stores it in.
    error DeployParameterTooLarge(uint256 value, uint256 max);
    /// @notice The vault did not bind to the escrow.
    error DeployNotBound(address vault, address escrow);
    /// @notice ARBITRATOR must be set on chains other than the dev chain.
    error DeployArbitratorRequired(uint256 chainId);

    struct Config {
        address owner;
        address treasury;
        IRunEscrow.Parameters escrow;
        IStakeVault.Parameters vault;
        string commit;
        string dir;
        string path;
    }

    struct Deployed {
        address usdc;
        address mockUsdc;
        address vault;
        address escrow;
    }

    /// @notice Deploys and writes the manifest; returns the three addresses (MockUSDC is zero when
    /// a real USDC is used).
    function run() external returns (address usdc, address vault, address escrow) {
        // With a single --private-key, forge makes that wallet the script's sender.
        address deployer = msg.sender;
        Config memory config = _config(deployer);
        if (VM.exists(config.path) && !VM.envOr("FORCE", false)) revert DeployManifestExists(config.path);

        Deployed memory d;
        d.usdc = VM.envOr("USDC", _knownUsdc(block.chainid));
        VM.startBroadcast(deployer);
        if (d.usdc == address(0)) {
            if (block.chainid != DEV_CHAIN_ID) revert DeployUnknownUsdc(block.chainid);
            d.mockUsdc = address(new MockUSDC(deployer));
            d.usdc = d.mockUsdc;
        }
        d.vault = address(new StakeVault(IUSDC(d.usdc), deployer, config.vault));
        d.escrow = address(
            new RunEscrow(IUSDC(d.usdc), IStakeVault(d.vault), config.owner, config.treasury, config.escrow)
        );
        StakeVault(d.vault).setRunEscrow(d.escrow);
        if (config.owner != deployer) StakeVault(d.vault).transferOwnership(config.owner);
        VM.stopBroadcast();
        if (StakeVault(d.vault).runEscrow() != d.escrow) revert DeployNotBound(d.vault, d.escrow);

        _write(config, d);
        return (d.usdc, d.vault, d.escrow);
    }

    function _config(address deployer) private view returns (Config memory config) {
        bool dev = block.chainid == DEV_CHAIN_ID;
        config.owner = VM.envOr("OWNER", deployer);
        address arbitrator = VM.envOr("ARBITRATOR", dev ? deployer : address(0));
        if (arbitrator == address(0)) revert DeployArbitratorRequired(block.chainid);
        config.treasury = VM.envOr("TREASURY", arbitrator == deployer ? DEV_TREASURY : deployer);
        // Each narrowing cast follows a bound check: the contracts pack their parameters.
        config.escrow = IRunEscrow.Parameters({
            feeBps: uint16(_bounded(VM.envOr("FEE_BPS", uint256(500)), type(uint16).max)),
            claimTimeout: uint32(_bounded(VM.envOr("CLAIM_TIMEOUT", 7 * DAY), type(uint32).max)),
            reviewPeriod: uint32(_bounded(VM.envOr("REVIEW_PERIOD", 7 * DAY), type(uint32).max)),
            disputeWindow: uint32(_bounded(VM.envOr("DISPUTE_WINDOW", 3 * DAY), type(uint32).max)),
            rulingPeriod: uint32(_bounded(VM.envOr("RULING_PERIOD", 14 * DAY), type(uint32).max)),
            arbitrator: arbitrator
        });
        config.vault = IStakeVault.Parameters({
            minStake: uint64(_bounded(VM.envOr("MIN_STAKE_UNITS", uint256(20e6)), type(uint64).max)),
            unstakeCooldown: uint32(_bounded(VM.envOr("UNSTAKE_COOLDOWN", 7 * DAY), type(uint32).max)),
            strikesToBan: uint16(_bounded(VM.envOr("STRIKES_TO_BAN", uint256(3)), type(uint16).max)),
            establishedCompletions: uint16(
                _bounded(VM.envOr("ESTABLISHED_COMPLETIONS", uint256(5)), type(uint16).max)
            ),
            establishedAge: uint32(_bounded(VM.envOr("ESTABLISHED_AGE", 30 * DAY), type(uint32).max))
        });
        config.commit = VM.envOr("COMMIT", string("unknown"));
        config.dir = VM.envOr("DEPLOYMENTS_DIR", string("deployments"));
        config.path = string.concat(config.dir, "/", VM.toString(block.chainid), ".json");
    }

    function _bounded(uint256 value, uint256 max) private pure returns (uint256) {
        if (value > max) revert DeployParameterTooLarge(value, max);
        return value;
    }

    /// @dev The manifest of SPEC §3, in the key order `runs deploy` writes.
    function _write(Config memory config, Deployed memory d) private {
        string memory contracts;
        if (d.mockUsdc != address(0)) {
            contracts = VM.serializeString("contracts", "MockUSDC", _entry("MockUSDC", d.mockUsdc));
        }
        VM.serializeString("contracts", "StakeVault", _entry("StakeVault", d.vault));
        contracts = VM.serializeString("contracts", "RunEscrow", _entry("RunEscrow", d.escrow));

        IStakeVault.Parameters memory v = config.vault;
        IRunEscrow.Parameters memory e = config.escrow;
        VM.serializeUint("parameters", "feeBps", e.feeBps);
        VM.serializeUint("parameters", "minStake", v.minStake);
        VM.serializeUint("parameters", "claimTimeout", e.claimTimeout);
        VM.serializeUint("parameters", "reviewPeriod", e.reviewPeriod);
        VM.serializeUint("parameters", "disputeWindow", e.disputeWindow);
        VM.serializeUint("parameters", "rulingPeriod", e.rulingPeriod);
        VM.serializeUint("parameters", "unstakeCooldown", v.unstakeCooldown);
        VM.serializeUint("parameters", "strikesToBan", v.strikesToBan);
        VM.serializeUint("parameters", "establishedCompletions", v.establishedCompletions);
        VM.serializeUint("parameters", "establishedAge", v.establishedAge);
        VM.serializeAddress("parameters", "arbitrator", e.arbitrator);
        VM.serializeAddress("parameters", "treasury", config.treasury);
        string memory parameters = VM.serializeAddress("parameters", "owner", config.owner);

        VM.serializeUint("manifest", "chainId", block.chainid);
        VM.serializeAddress("manifest", "usdc", d.usdc);
        VM.serializeString("manifest", "contracts", contracts);
        VM.serializeString("manifest", "parameters", parameters);
        string memory manifest = VM.serializeString("manifest", "commit", config.commit);

        VM.createDir(config.dir, true);
        VM.writeJson(manifest, config.path);
    }

    function _entry(string memory key, address at) private returns (string memory) {
        VM.serializeAddress(key, "address", at);
        VM.serializeBytes32(key, "txHash", bytes32(0));
        return VM.serializeUint(key, "blockNumber", block.number);
    }

    /// @dev Circle's USDC on the chains the marketplace targets (the same table as runs-deployer).
    function _knownUsdc(uint256 chainId) private pure returns (address) {
        if (chainId == 1) return 0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48;
        if (chainId == 8453) return 0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913;
        if (chainId == 84532) return 0x036CbD53842c5426634e7929541eC2318f3dCF7e;
        if (chainId == 11155111) return 0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238;
        return address(0);
    }
}
