// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IRunEscrow} from "./interfaces/IRunEscrow.sol";
import {IStakeVault} from "./interfaces/IStakeVault.sol";
import {IUSDC} from "./interfaces/IUSDC.sol";
import {ClaimReasons} from "./libraries/ClaimReasons.sol";

/// @title StakeVault
/// @notice Agent identity, pooled stake, trust ladder and reputation of the runs marketplace.
/// @dev See {IStakeVault} for the behaviour. Stake is pooled per agent, not per run. The owner
/// tunes parameters but has no function that moves anyone's USDC; the only outflows are an
/// agent's own withdrawal and slashes ordered by the immutable-once-set RunEscrow.
contract StakeVault is IStakeVault, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev One agent in three storage slots. Counters that change on the way out of a run
    /// (completions, slashes, volume) saturate instead of reverting, so no settlement can ever
    /// be blocked by a reputation counter.
    struct AgentData {
        // slot 0: read by every hook
        address wallet;
        uint32 activeClaims;
        uint32 claims;
        uint32 completions;
        // slot 1: money
        uint128 stake;
        uint128 pendingUnstake;
        // slot 2: ladder facts and earnings
        uint64 unstakeReadyAt;
        uint64 stakedSince;
        uint16 slashes;
        bool frozen;
        uint96 volume;
    }

    /// @notice Longest unstake cooldown the owner can set, so stake can never be locked for good.
    uint256 public constant MAX_UNSTAKE_COOLDOWN = 90 days;

    IERC20 private immutable _usdc;
    address private _runEscrow;
    Parameters private _parameters;
    uint256 private _agentCount;
    uint128 private _totalStaked;
    uint128 private _totalPending;

    mapping(uint256 agentId => AgentData) private _agents;
    mapping(address wallet => uint256 agentId) private _agentIdOf;

    modifier onlyRunEscrow() {
        if (msg.sender != _runEscrow) revert StakeVaultUnauthorized(msg.sender);
        _;
    }

    /// @param usdc_ The USDC token (6 decimals).
    /// @param owner_ Who may tune parameters and bind the RunEscrow.
    /// @param parameters_ The initial parameters (see {IStakeVault.Parameters}).
    constructor(IUSDC usdc_, address owner_, Parameters memory parameters_) Ownable(owner_) {
        if (address(usdc_) == address(0)) revert StakeVaultZeroAddress();
        _usdc = IERC20(address(usdc_));
        _setParameters(parameters_);
    }

    /*//////////////////////////////////////////////////////////////
                              AGENT ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IStakeVault
    function register(string calldata metadataURI) external returns (uint256 agentId) {
        uint256 existing = _agentIdOf[msg.sender];
        if (existing != 0) revert StakeVaultAlreadyRegistered(msg.sender, existing);
        // Agent ids must fit the 32 bits RunEscrow packs them into.
        agentId = _agentCount + 1;
        if (agentId > type(uint32).max) revert StakeVaultAmountTooLarge(agentId, type(uint32).max);
        _agentCount = agentId;
        _agentIdOf[msg.sender] = agentId;
        _agents[agentId].wallet = msg.sender;
        emit AgentRegistered(agentId, msg.sender, metadataURI);
    }

    /// @inheritdoc IStakeVault
    function stake(uint256 amount) external nonReentrant {
        _stake(amount);
    }

    /// @inheritdoc IStakeVault
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        // A front-runner may have submitted the same permit already; the allowance then exists
        // and the transfer below still succeeds, otherwise it reverts.
        try IUSDC(address(_usdc)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _stake(amount);
    }

    /// @inheritdoc IStakeVault
    function requestUnstake(uint256 amount) external {
        uint256 agentId = _callerAgent();
        AgentData storage agent = _agents[agentId];
        if (amount == 0) revert StakeVaultZeroAmount();
        if (agent.activeClaims != 0) revert StakeVaultActiveClaims(agentId, agent.activeClaims);
        uint256 staked = agent.stake;
        if (amount > staked) revert StakeVaultInsufficientStake(agentId, staked, amount);

        AgentStatus before = _status(agent, _parameters);
        uint64 readyAt = uint64(block.timestamp) + _parameters.unstakeCooldown;
        // Cannot overflow: amount <= stake, and stake + pending never exceeds the USDC supply.
        unchecked {
            agent.stake = uint128(staked - amount);
            agent.pendingUnstake += uint128(amount);
            _totalStaked -= uint128(amount);
            _totalPending += uint128(amount);
        }
        agent.unstakeReadyAt = readyAt;
        emit UnstakeRequested(agentId, amount, agent.stake, agent.pendingUnstake, readyAt);
        _emitStatusChange(agentId, before, _status(agent, _parameters));
    }

    /// @inheritdoc IStakeVault
    function withdrawStake() external nonReentrant returns (uint256 amount) {
        uint256 agentId = _callerAgent();
        AgentData storage agent = _agents[agentId];
        amount = agent.pendingUnstake;
        if (amount == 0) revert StakeVaultNothingToWithdraw(agentId);
        if (agent.activeClaims != 0) revert StakeVaultActiveClaims(agentId, agent.activeClaims);
        if (block.timestamp < agent.unstakeReadyAt) revert StakeVaultCooldownActive(agentId, agent.unstakeReadyAt);

        agent.pendingUnstake = 0;
        agent.unstakeReadyAt = 0;
        // Cannot underflow: _totalPending is the sum of every agent's pendingUnstake.
        unchecked {
            _totalPending -= uint128(amount);
        }
        emit StakeWithdrawn(agentId, msg.sender, amount);
        _usdc.safeTransfer(msg.sender, amount);
    }

    /*//////////////////////////////////////////////////////////////
                           RUN ESCROW HOOKS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IStakeVault
    function lockClaim(uint256 agentId, address poster)
        external
        onlyRunEscrow
        returns (address wallet, uint256 reasons)
    {
        (wallet, reasons) = _eligibility(agentId, poster);
        if (reasons == 0) {
            AgentData storage agent = _agents[agentId];
            agent.activeClaims += 1;
            // Saturating: the claim counter is reputation only.
            if (agent.claims != type(uint32).max) agent.claims += 1;
        }
    }

    /// @inheritdoc IStakeVault
    function releaseClaim(uint256 agentId) external onlyRunEscrow {
        _agents[agentId].activeClaims -= 1;
    }

    /// @inheritdoc IStakeVault
    function recordCompletion(uint256 agentId, uint256 reward) external onlyRunEscrow {
        AgentData storage agent = _agents[agentId];
        Parameters memory params = _parameters;
        AgentStatus before = _status(agent, params);
        agent.activeClaims -= 1;
        if (agent.completions != type(uint32).max) agent.completions += 1;
        uint256 volume = uint256(agent.volume) + reward;
        agent.volume = volume > type(uint96).max ? type(uint96).max : uint96(volume);
        _emitStatusChange(agentId, before, _status(agent, params));
    }

    /// @inheritdoc IStakeVault
    function slash(uint256 agentId, uint256 runId) external onlyRunEscrow nonReentrant returns (uint256 amount) {
        AgentData storage agent = _agents[agentId];
        Parameters memory params = _parameters;
        AgentStatus before = _status(agent, params);

        uint256 staked = agent.stake;
        uint256 pending = agent.pendingUnstake;
        amount = params.minStake;
        if (amount > staked + pending) amount = staked + pending;
        // Active stake first, then stake pending withdrawal. Cannot underflow: each part taken is
        // at most what is there, and the totals are sums of the per-agent values.
        unchecked {
            uint256 fromStake = amount > staked ? staked : amount;
            uint256 fromPending = amount - fromStake;
            agent.stake = uint128(staked - fromStake);
            agent.pendingUnstake = uint128(pending - fromPending);
            _totalStaked -= uint128(fromStake);
            _totalPending -= uint128(fromPending);
        }
        agent.activeClaims -= 1;
        if (agent.slashes != type(uint16).max) agent.slashes += 1;
        agent.frozen = true;

        emit StakeSlashed(agentId, runId, amount, agent.stake, agent.pendingUnstake, agent.slashes);
        _emitStatusChange(agentId, before, _status(agent, params));
        if (amount != 0) _usdc.safeTransfer(msg.sender, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IStakeVault
    function setRunEscrow(address runEscrow_) external onlyOwner {
        if (runEscrow_ == address(0)) revert StakeVaultZeroAddress();
        if (_runEscrow != address(0)) revert StakeVaultEscrowAlreadySet(_runEscrow);
        _runEscrow = runEscrow_;
        emit RunEscrowSet(runEscrow_);
    }

    /// @inheritdoc IStakeVault
    function setParameters(Parameters calldata parameters_) external onlyOwner {
        _setParameters(parameters_);
    }

    /// @notice Always reverts: an ownerless vault could never bind its escrow or tune parameters.
    function renounceOwnership() public view override onlyOwner {
        revert StakeVaultCannotRenounceOwnership();
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IStakeVault
    function usdc() external view returns (address) {
        return address(_usdc);
    }

    /// @inheritdoc IStakeVault
    function runEscrow() external view returns (address) {
        return _runEscrow;
    }

    /// @inheritdoc IStakeVault
    function parameters() external view returns (Parameters memory) {
        return _parameters;
    }

    /// @inheritdoc IStakeVault
    function agentCount() external view returns (uint256) {
        return _agentCount;
    }

    /// @inheritdoc IStakeVault
    function agentIdOf(address wallet) external view returns (uint256) {
        return _agentIdOf[wallet];
    }

    /// @inheritdoc IStakeVault
    function getAgent(uint256 agentId) external view returns (Agent memory agent) {
        AgentData storage data = _agentOrRevert(agentId);
        agent = Agent({
            wallet: data.wallet,
            stake: data.stake,
            pendingUnstake: data.pendingUnstake,
            unstakeReadyAt: data.unstakeReadyAt,
            stakedSince: data.stakedSince,
            activeClaims: data.activeClaims,
            claims: data.claims,
            completions: data.completions,
            slashes: data.slashes,
            volume: data.volume,
            frozen: data.frozen,
            status: _status(data, _parameters)
        });
    }

    /// @inheritdoc IStakeVault
    function walletOf(uint256 agentId) external view returns (address) {
        return _agents[agentId].wallet;
    }

    /// @inheritdoc IStakeVault
    function eligibility(uint256 agentId, address poster) external view returns (address wallet, uint256 reasons) {
        return _eligibility(agentId, poster);
    }

    /// @inheritdoc IStakeVault
    function statusOf(uint256 agentId) external view returns (AgentStatus) {
        return _status(_agentOrRevert(agentId), _parameters);
    }

    /// @inheritdoc IStakeVault
    function totalStaked() external view returns (uint256) {
        return _totalStaked;
    }

    /// @inheritdoc IStakeVault
    function totalPending() external view returns (uint256) {
        return _totalPending;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _stake(uint256 amount) private {
        uint256 agentId = _callerAgent();
        AgentData storage agent = _agents[agentId];
        Parameters memory params = _parameters;
        if (amount == 0) revert StakeVaultZeroAmount();
        if (agent.slashes >= params.strikesToBan) revert StakeVaultAgentBanned(agentId);
        uint256 newStake = uint256(agent.stake) + amount;
        // Bounding the sum bounds every per-agent value too.
        uint256 newTotal = uint256(_totalStaked) + amount;
        if (newTotal > type(uint128).max) revert StakeVaultAmountTooLarge(amount, type(uint128).max - _totalStaked);

        AgentStatus before = _status(agent, params);
        agent.stake = uint128(newStake);
        _totalStaked = uint128(newTotal);
        if (newStake >= params.minStake) {
            if (agent.stakedSince == 0) agent.stakedSince = uint64(block.timestamp);
            agent.frozen = false;
        }
        emit Staked(agentId, msg.sender, amount, newStake);
        _emitStatusChange(agentId, before, _status(agent, params));
        _usdc.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _setParameters(Parameters memory params) private {
        if (params.minStake == 0) revert StakeVaultInvalidMinStake(params.minStake);
        if (params.strikesToBan == 0) revert StakeVaultInvalidStrikes(params.strikesToBan);
        // The cooldown may never be shorter than the escrow's claim timeout (when bound).
        uint256 minCooldown;
        if (_runEscrow != address(0)) {
            (,, minCooldown,) = IRunEscrow(_runEscrow).parameters();
        }
        if (params.unstakeCooldown < minCooldown || params.unstakeCooldown > MAX_UNSTAKE_COOLDOWN) {
            revert StakeVaultInvalidCooldown(params.unstakeCooldown, minCooldown, MAX_UNSTAKE_COOLDOWN);
        }
        _parameters = params;
        emit ParametersUpdated(
            params.minStake,
            params.unstakeCooldown,
            params.strikesToBan,
            params.establishedCompletions,
            params.establishedAge
        );
    }

    function _callerAgent() private view returns (uint256 agentId) {
        agentId = _agentIdOf[msg.sender];
        if (agentId == 0) revert StakeVaultNotRegistered(msg.sender);
    }

    function _agentOrRevert(uint256 agentId) private view returns (AgentData storage agent) {
        agent = _agents[agentId];
        if (agent.wallet == address(0)) revert StakeVaultAgentNotFound(agentId);
    }

    function _eligibility(uint256 agentId, address poster) private view returns (address wallet, uint256 reasons) {
        AgentData storage agent = _agents[agentId];
        wallet = agent.wallet;
        if (wallet == address(0)) return (wallet, ClaimReasons.AGENT_NOT_FOUND);
        Parameters memory params = _parameters;
        if (agent.slashes >= params.strikesToBan) reasons |= ClaimReasons.AGENT_BANNED;
        else if (agent.frozen) reasons |= ClaimReasons.AGENT_FROZEN;
        if (agent.stake < params.minStake) reasons |= ClaimReasons.INSUFFICIENT_STAKE;
        if (wallet == poster) reasons |= ClaimReasons.AGENT_IS_POSTER;
    }

    /// @dev The ladder of {IStakeVault}, evaluated at the current block.
    function _status(AgentData storage agent, Parameters memory params) private view returns (AgentStatus) {
        if (agent.slashes >= params.strikesToBan) return AgentStatus.BANNED;
        if (agent.frozen) return AgentStatus.FROZEN;
        if (agent.stake < params.minStake) return AgentStatus.UNVERIFIED;
        uint256 since = agent.stakedSince;
        if (
            since != 0 && agent.completions >= params.establishedCompletions
                && block.timestamp >= since + params.establishedAge
        ) return AgentStatus.ESTABLISHED;
        return AgentStatus.PROVISIONAL;
    }

    function _emitStatusChange(uint256 agentId, AgentStatus before, AgentStatus current) private {
        if (before != current) emit AgentStatusChanged(agentId, before, current);
    }
}
