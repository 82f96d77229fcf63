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
/// @notice Agent identity, stake with per-claim reservations, trust ladder and reputation of the
/// runs marketplace.
/// @dev See {IStakeVault} for the behaviour. The owner tunes parameters and may pause new stake;
/// it has no function that moves anyone's USDC. The only outflows are an agent's own withdrawal of
/// free stake and the forfeit of a reservation ordered by the RunEscrow, which is bound once and
/// before anything can be staked. Invariants kept by every function: `reserved <= stake` for every
/// agent (so a forfeit always finds the whole reservation), and this contract's USDC balance is at
/// least `totalStaked + totalPending`.
contract StakeVault is IStakeVault, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev One agent in three storage slots, laid out by who reads what: a claim touches slots 0
    /// and 1 only, an approval slots 0 and 2 (and reads 1). Amounts fit 64 bits because an agent's
    /// stake + pending is capped there ({StakeVaultAmountTooLarge}; 2^64 base units is 18 trillion
    /// USDC). Reputation counters saturate instead of reverting, so no settlement can ever be
    /// blocked by a counter.
    struct AgentData {
        // slot 0: every claim and settlement
        address wallet;
        uint64 reserved;
        uint32 claims;
        // slot 1: money and the ladder
        uint64 stake;
        uint64 pendingUnstake;
        uint40 unstakeReadyAt;
        uint40 stakedSince;
        uint16 strikes;
        bool frozen;
        bool banned;
        // slot 2: reputation
        uint32 completions;
        uint16 rejections;
        uint16 disputesWon;
        uint16 disputesLost;
        uint96 volume;
    }

    /// @notice Longest unstake cooldown the owner can set, so stake can never be locked for good.
    uint256 public constant MAX_UNSTAKE_COOLDOWN = 90 days;
    /// @notice Shortest unstake cooldown the owner can set.
    uint256 public constant MIN_UNSTAKE_COOLDOWN = 1 days;
    /// @inheritdoc IStakeVault
    uint256 public constant MIN_COMPLETION_REWARD = 1e6;
    /// @notice Longest agent metadata URI, in bytes (as the escrow's URIs).
    uint256 public constant MAX_URI_LENGTH = 2048;

    IERC20 private immutable _usdc;
    address private _runEscrow;
    bool private _paused;
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
    /// @param owner_ Who may tune parameters, pause staking and bind the RunEscrow.
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
        if (bytes(metadataURI).length > MAX_URI_LENGTH) {
            revert StakeVaultURITooLong(bytes(metadataURI).length, MAX_URI_LENGTH);
        }
        // Agent ids must fit the 32 bits RunEscrow packs them into.
        agentId = _agentCount + 1;
        if (agentId > type(uint32).max) revert StakeVaultTooManyAgents(type(uint32).max);
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
        uint256 staked = agent.stake;
        // Cannot underflow: reserved <= stake is kept by every function.
        uint256 free = staked - agent.reserved;
        if (amount > free) revert StakeVaultInsufficientFreeStake(agentId, free, amount);

        Parameters memory params = _parameters;
        AgentStatus before = _status(agent, params);
        uint256 newStake = staked - amount;
        // Cannot exceed 64 bits: stake + pending is capped there when staking, and this moves
        // `amount` from one to the other.
        uint256 newPending = uint256(agent.pendingUnstake) + amount;
        uint40 readyAt = uint40(block.timestamp + params.unstakeCooldown);
        agent.stake = uint64(newStake);
        agent.pendingUnstake = uint64(newPending);
        agent.unstakeReadyAt = readyAt;
        if (newStake < params.minStake) agent.stakedSince = 0;
        _totalStaked -= uint128(amount);
        _totalPending += uint128(amount);
        emit UnstakeRequested(agentId, amount, newStake, newPending, readyAt);
        _emitStatusChange(agentId, before, _status(agent, params));
    }

    /// @inheritdoc IStakeVault
    function withdrawStake() external nonReentrant returns (uint256 amount) {
        uint256 agentId = _callerAgent();
        AgentData storage agent = _agents[agentId];
        amount = agent.pendingUnstake;
        if (amount == 0) revert StakeVaultNothingToWithdraw(agentId);
        if (block.timestamp < agent.unstakeReadyAt) {
            revert StakeVaultCooldownActive(agentId, agent.unstakeReadyAt);
        }
        agent.pendingUnstake = 0;
        agent.unstakeReadyAt = 0;
        _totalPending -= uint128(amount);
        emit StakeWithdrawn(agentId, msg.sender, amount);
        _usdc.safeTransfer(msg.sender, amount);
    }

    /*//////////////////////////////////////////////////////////////
                           RUN ESCROW HOOKS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IStakeVault
    function reserve(uint256 agentId, uint256 amount)
        external
        onlyRunEscrow
        returns (address wallet, uint256 reasons)
    {
        AgentData storage agent = _agents[agentId];
        (wallet, reasons) = _eligibility(agent, amount);
        if (reasons == 0) {
            // Cannot exceed stake (checked as free stake above), which fits 64 bits.
            agent.reserved += uint64(amount);
            // Saturating: the claim counter is reputation only.
            if (agent.claims != type(uint32).max) agent.claims += 1;
        }
    }

    /// @inheritdoc IStakeVault
    function settleClaim(
        uint256 agentId,
        uint256 runId,
        uint256 amount,
        Outcome outcome,
        uint256 reward,
        uint256 earned
    ) external onlyRunEscrow nonReentrant returns (address wallet, uint256 forfeited) {
        AgentData storage agent = _agents[agentId];
        wallet = agent.wallet;
        Parameters memory params = _parameters;
        AgentStatus before = _status(agent, params);
        // Cannot underflow: the escrow settles each claim once, with the amount it reserved.
        agent.reserved -= uint64(amount);

        if (outcome <= Outcome.REJECTED) {
            if (outcome == Outcome.REJECTED) {
                if (agent.rejections != type(uint16).max) agent.rejections += 1;
            } else {
                if (outcome == Outcome.DISPUTE_WON) {
                    if (agent.disputesWon != type(uint16).max) agent.disputesWon += 1;
                }
                if (outcome != Outcome.DISPUTE_SPLIT && reward >= MIN_COMPLETION_REWARD) {
                    if (agent.completions != type(uint32).max) agent.completions += 1;
                }
            }
        } else {
            forfeited = amount;
            // Cannot underflow: reserved <= stake held before this call, and `amount` was reserved.
            uint256 newStake = uint256(agent.stake) - amount;
            agent.stake = uint64(newStake);
            _totalStaked -= uint128(amount);
            if (newStake < params.minStake) agent.stakedSince = 0;
            if (outcome >= Outcome.DISPUTE_LOST) {
                if (agent.disputesLost != type(uint16).max) agent.disputesLost += 1;
            }
            if (outcome == Outcome.SLASHED || outcome == Outcome.DISPUTE_LOST_STRUCK) {
                uint16 strikes = agent.strikes;
                if (strikes != type(uint16).max) agent.strikes = ++strikes;
                agent.frozen = true;
                // The threshold in force at this strike decides; a ban is never lifted.
                if (strikes >= params.strikesToBan) agent.banned = true;
            }
            emit StakeForfeited(agentId, runId, amount, outcome, newStake, agent.strikes);
        }
        if (earned != 0) {
            uint256 volume = uint256(agent.volume) + earned;
            agent.volume = volume > type(uint96).max ? type(uint96).max : uint96(volume);
        }
        _emitStatusChange(agentId, before, _status(agent, params));
        if (forfeited != 0) _usdc.safeTransfer(msg.sender, forfeited);
    }

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IStakeVault
    function setRunEscrow(address runEscrow_) external onlyOwner {
        if (runEscrow_ == address(0)) revert StakeVaultZeroAddress();
        if (_runEscrow != address(0)) revert StakeVaultEscrowAlreadySet(_runEscrow);
        address boundVault = IRunEscrow(runEscrow_).stakeVault();
        if (boundVault != address(this)) revert StakeVaultEscrowMismatch(runEscrow_, boundVault);
        _runEscrow = runEscrow_;
        emit RunEscrowSet(runEscrow_);
        // The escrow read the minimum stake when it was deployed; it may have changed since.
        IRunEscrow(runEscrow_).syncMinStake(_parameters.minStake);
    }

    /// @inheritdoc IStakeVault
    function setParameters(Parameters calldata parameters_) external onlyOwner {
        uint64 previousMin = _parameters.minStake;
        _setParameters(parameters_);
        address escrow = _runEscrow;
        if (escrow != address(0) && parameters_.minStake != previousMin) {
            IRunEscrow(escrow).syncMinStake(parameters_.minStake);
        }
    }

    /// @notice Always reverts: an ownerless vault could never bind its escrow or tune parameters.
    function renounceOwnership() public view override onlyOwner {
        revert StakeVaultCannotRenounceOwnership();
    }

    /// @inheritdoc IStakeVault
    function pause() external onlyOwner {
        if (_paused) revert StakeVaultPaused();
        _paused = true;
        emit StakingPaused(msg.sender);
    }

    /// @inheritdoc IStakeVault
    function unpause() external onlyOwner {
        if (!_paused) revert StakeVaultNotPaused();
        _paused = false;
        emit StakingUnpaused(msg.sender);
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
    function paused() external view returns (bool) {
        return _paused;
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
        agent.wallet = data.wallet;
        agent.stake = data.stake;
        agent.reserved = data.reserved;
        agent.pendingUnstake = data.pendingUnstake;
        agent.unstakeReadyAt = data.unstakeReadyAt;
        agent.stakedSince = data.stakedSince;
        agent.claims = data.claims;
        agent.completions = data.completions;
        agent.strikes = data.strikes;
        agent.rejections = data.rejections;
        agent.disputesWon = data.disputesWon;
        agent.disputesLost = data.disputesLost;
        agent.volume = data.volume;
        agent.frozen = data.frozen;
        agent.banned = data.banned;
        agent.status = _status(data, _parameters);
    }

    /// @inheritdoc IStakeVault
    function walletOf(uint256 agentId) external view returns (address) {
        return _agents[agentId].wallet;
    }

    /// @inheritdoc IStakeVault
    function eligibility(uint256 agentId, uint256 amount)
        external
        view
        returns (address wallet, uint256 reasons)
    {
        return _eligibility(_agents[agentId], amount);
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
        if (_paused) revert StakeVaultPaused();
        // Before the escrow is bound, whatever got bound later could take this stake.
        if (_runEscrow == address(0)) revert StakeVaultEscrowNotSet();
        uint256 agentId = _callerAgent();
        AgentData storage agent = _agents[agentId];
        Parameters memory params = _parameters;
        if (amount == 0) revert StakeVaultZeroAmount();
        if (agent.banned) revert StakeVaultAgentBanned(agentId);
        uint256 staked = agent.stake;
        // Bounding stake + pending per agent bounds every per-agent amount and, with at most 2^32
        // agents, every total.
        uint256 held = staked + agent.pendingUnstake;
        if (amount > type(uint64).max - held) {
            revert StakeVaultAmountTooLarge(amount, type(uint64).max - held);
        }

        AgentStatus before = _status(agent, params);
        uint256 newStake = staked + amount;
        agent.stake = uint64(newStake);
        _totalStaked += uint128(amount);
        if (newStake >= params.minStake) {
            if (agent.stakedSince == 0) agent.stakedSince = uint40(block.timestamp);
            // Leaving FROZEN takes fresh stake of at least the minimum, not a token top-up of an
            // agent that still held the minimum after its strike.
            if (amount >= params.minStake) agent.frozen = false;
        }
        emit Staked(agentId, msg.sender, amount, newStake);
        _emitStatusChange(agentId, before, _status(agent, params));
        _usdc.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _setParameters(Parameters memory params) private {
        if (params.minStake == 0) revert StakeVaultInvalidMinStake(params.minStake);
        if (params.strikesToBan == 0) revert StakeVaultInvalidStrikes(params.strikesToBan);
        if (params.unstakeCooldown < MIN_UNSTAKE_COOLDOWN || params.unstakeCooldown > MAX_UNSTAKE_COOLDOWN) {
            revert StakeVaultInvalidCooldown(
                params.unstakeCooldown, MIN_UNSTAKE_COOLDOWN, MAX_UNSTAKE_COOLDOWN
            );
        }
        _parameters = params;
        emit ParametersUpdated(params);
    }

    function _callerAgent() private view returns (uint256 agentId) {
        agentId = _agentIdOf[msg.sender];
        if (agentId == 0) revert StakeVaultNotRegistered(msg.sender);
    }

    function _agentOrRevert(uint256 agentId) private view returns (AgentData storage agent) {
        agent = _agents[agentId];
        if (agent.wallet == address(0)) revert StakeVaultAgentNotFound(agentId);
    }

    /// @dev The agent rules of a claim: the ladder (PROVISIONAL or ESTABLISHED) and free stake.
    function _eligibility(AgentData storage agent, uint256 amount)
        private
        view
        returns (address wallet, uint256 reasons)
    {
        wallet = agent.wallet;
        if (wallet == address(0)) return (wallet, ClaimReasons.AGENT_NOT_FOUND);
        uint256 staked = agent.stake;
        uint256 minStake = _parameters.minStake;
        if (agent.banned) reasons |= ClaimReasons.AGENT_BANNED;
        else if (_isFrozen(agent, staked, minStake)) reasons |= ClaimReasons.AGENT_FROZEN;
        if (staked < minStake) reasons |= ClaimReasons.INSUFFICIENT_STAKE;
        if (staked - agent.reserved < amount) reasons |= ClaimReasons.INSUFFICIENT_FREE_STAKE;
    }

    /// @dev Frozen by a strike, or struck once and now below the minimum: either way the exit is a
    /// {stake} that reaches the minimum.
    function _isFrozen(AgentData storage agent, uint256 staked, uint256 minStake)
        private
        view
        returns (bool)
    {
        return agent.frozen || (agent.strikes != 0 && staked < minStake);
    }

    /// @dev The ladder of {IStakeVault}, evaluated at the current block.
    function _status(AgentData storage agent, Parameters memory params) private view returns (AgentStatus) {
        if (agent.banned) return AgentStatus.BANNED;
        uint256 staked = agent.stake;
        if (_isFrozen(agent, staked, params.minStake)) return AgentStatus.FROZEN;
        if (staked < params.minStake) return AgentStatus.UNVERIFIED;
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
