//! An [`Actor`]: one dev account acting on the marketplace through the generated bindings, one
//! transaction at a time, each awaited and checked.

use std::time::Duration;

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ext::AnvilApi},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
    transports::http::reqwest::Url,
};
use runs_bindings::{MockUSDC, RunEscrow, StakeVault};
use runs_primitives::{AgentId, DeploymentManifest, RunId, Usdc};

use crate::{Error, Result};

/// How long to wait for a transaction to be mined (generous: a node with a long block time).
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// One account on the marketplace: a poster, an agent, or both.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The account.
    pub address: Address,
    provider: DynProvider,
    escrow: RunEscrow::RunEscrowInstance<DynProvider>,
    vault: StakeVault::StakeVaultInstance<DynProvider>,
    usdc: MockUSDC::MockUSDCInstance<DynProvider>,
}

impl Actor {
    /// `signer` acting on `manifest`'s contracts through the node at `rpc_url`.
    pub fn new(rpc_url: Url, manifest: &DeploymentManifest, signer: PrivateKeySigner) -> Self {
        let address = signer.address();
        let provider = runs_bindings::signing_provider(rpc_url, signer);
        Self {
            address,
            escrow: RunEscrow::new(manifest.contracts.run_escrow.address, provider.clone()),
            vault: StakeVault::new(manifest.contracts.stake_vault.address, provider.clone()),
            usdc: MockUSDC::new(manifest.usdc, provider.clone()),
            provider,
        }
    }

    /// The signing provider of this account.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Lets both contracts pull this account's USDC (rewards, fees and rejection bonds; stake).
    pub async fn approve_all(&self) -> Result<()> {
        let escrow = *self.escrow.address();
        let vault = *self.vault.address();
        self.send(
            "approving RunEscrow",
            self.usdc.approve(escrow, U256::MAX).into_transaction_request(),
        )
        .await?;
        self.send(
            "approving StakeVault",
            self.usdc.approve(vault, U256::MAX).into_transaction_request(),
        )
        .await?;
        Ok(())
    }

    /// Registers this wallet as an agent; its new id.
    pub async fn register(&self, metadata_uri: &str) -> Result<AgentId> {
        let call = self.vault.register(metadata_uri.to_owned());
        let receipt = self.send("registering an agent", call.into_transaction_request()).await?;
        let id = receipt
            .decoded_log::<StakeVault::AgentRegistered>()
            .map(|log| log.data.agentId)
            .ok_or_else(|| {
            missing_event("registering an agent", "AgentRegistered", &receipt)
        })?;
        Ok(AgentId::new(u64_id(id)))
    }

    /// Adds `amount` to this agent's stake.
    pub async fn stake(&self, amount: Usdc) -> Result<()> {
        let call = self.vault.stake(amount.base_units());
        self.send(&format!("staking {amount} USDC"), call.into_transaction_request()).await?;
        Ok(())
    }

    /// Moves `amount` of stake to pending withdrawal.
    pub async fn request_unstake(&self, amount: Usdc) -> Result<()> {
        let call = self.vault.requestUnstake(amount.base_units());
        self.send(&format!("requesting to unstake {amount} USDC"), call.into_transaction_request())
            .await?;
        Ok(())
    }

    /// Creates a DRAFT run with the default required stake (the minimum) under the current terms;
    /// its id.
    pub async fn create_run(
        &self,
        spec_uri: &str,
        reward: Usdc,
        deadline: u64,
        max_revisions: u8,
    ) -> Result<RunId> {
        let call = self.escrow.createRun(
            spec_uri.to_owned(),
            reward.base_units(),
            U256::from(deadline),
            U256::from(max_revisions),
            U256::ZERO,
            U256::ZERO,
        );
        self.created("creating a run", call.into_transaction_request()).await
    }

    /// Creates and funds a run (OPEN) with the default required stake under the current terms;
    /// its id.
    pub async fn create_and_fund(
        &self,
        spec_uri: &str,
        reward: Usdc,
        deadline: u64,
        max_revisions: u8,
    ) -> Result<RunId> {
        let call = self.escrow.createAndFund(
            spec_uri.to_owned(),
            reward.base_units(),
            U256::from(deadline),
            U256::from(max_revisions),
            U256::ZERO,
            U256::ZERO,
        );
        self.created("creating and funding a run", call.into_transaction_request()).await
    }

    /// Funds a DRAFT run.
    pub async fn fund(&self, run: RunId) -> Result<TransactionReceipt> {
        self.act("fund", run, self.escrow.fund(run.to_u256()).into_transaction_request()).await
    }

    /// Cancels a DRAFT or OPEN run.
    pub async fn cancel(&self, run: RunId) -> Result<TransactionReceipt> {
        self.act("cancel", run, self.escrow.cancel(run.to_u256()).into_transaction_request()).await
    }

    /// Claims an OPEN run for `agent` (this account must be its wallet).
    pub async fn claim(&self, run: RunId, agent: AgentId) -> Result<TransactionReceipt> {
        let call = self.escrow.claim(run.to_u256(), agent.to_u256());
        self.act("claim", run, call.into_transaction_request()).await
    }

    /// Marks a CLAIMED run IN_PROGRESS.
    pub async fn start(&self, run: RunId) -> Result<TransactionReceipt> {
        self.act("start", run, self.escrow.start(run.to_u256()).into_transaction_request()).await
    }

    /// Submits a deliverable.
    pub async fn submit(&self, run: RunId, deliverable_uri: &str) -> Result<TransactionReceipt> {
        let call = self.escrow.submit(run.to_u256(), deliverable_uri.to_owned());
        self.act("submit", run, call.into_transaction_request()).await
    }

    /// Asks for a revision of a SUBMITTED run.
    pub async fn request_revision(&self, run: RunId, reason: &str) -> Result<TransactionReceipt> {
        let call = self.escrow.requestRevision(run.to_u256(), reason.to_owned());
        self.act("requestRevision", run, call.into_transaction_request()).await
    }

    /// Approves a SUBMITTED run.
    pub async fn approve(&self, run: RunId) -> Result<TransactionReceipt> {
        self.act("approve", run, self.escrow.approve(run.to_u256()).into_transaction_request())
            .await
    }

    /// Rejects a SUBMITTED run whose revisions are used up, posting the rejection bond (the run's
    /// required stake, pulled like the reward: [`Actor::approve_all`] covers it).
    pub async fn reject(&self, run: RunId, reason_uri: &str) -> Result<TransactionReceipt> {
        let call = self.escrow.reject(run.to_u256(), reason_uri.to_owned());
        self.act("reject", run, call.into_transaction_request()).await
    }

    /// Hands a CLAIMED or IN_PROGRESS run back (OPEN again); the reservation goes to the poster.
    pub async fn abandon(&self, run: RunId) -> Result<TransactionReceipt> {
        self.act("abandon", run, self.escrow.abandon(run.to_u256()).into_transaction_request())
            .await
    }

    /// Disputes a rejection within the dispute window (the agent).
    pub async fn dispute(&self, run: RunId, evidence_uri: &str) -> Result<TransactionReceipt> {
        let call = self.escrow.dispute(run.to_u256(), evidence_uri.to_owned());
        self.act("dispute", run, call.into_transaction_request()).await
    }

    /// Adds evidence to an open rejection or a dispute (poster or agent).
    pub async fn submit_evidence(&self, run: RunId, uri: &str) -> Result<TransactionReceipt> {
        let call = self.escrow.submitEvidence(run.to_u256(), uri.to_owned());
        self.act("submitEvidence", run, call.into_transaction_request()).await
    }

    /// Accepts a rejection at once (the agent): it settles as a final rejection.
    pub async fn accept_rejection(&self, run: RunId) -> Result<TransactionReceipt> {
        let call = self.escrow.acceptRejection(run.to_u256());
        self.act("acceptRejection", run, call.into_transaction_request()).await
    }

    /// Settles a rejection whose dispute window passed without a dispute (anyone).
    pub async fn finalize_rejection(&self, run: RunId) -> Result<TransactionReceipt> {
        let call = self.escrow.finalizeRejection(run.to_u256());
        self.act("finalizeRejection", run, call.into_transaction_request()).await
    }

    /// Rules on a DISPUTED run (the run's arbitrator): the agent's share in basis points, and
    /// whether a ruling of 0 also counts a strike.
    pub async fn resolve(
        &self,
        run: RunId,
        agent_share_bps: u16,
        strike: bool,
    ) -> Result<TransactionReceipt> {
        let call = self.escrow.resolve(run.to_u256(), U256::from(agent_share_bps), strike);
        self.act("resolve", run, call.into_transaction_request()).await
    }

    /// Settles a dispute the arbitrator left unruled past the ruling period (anyone): 50/50.
    pub async fn settle_dispute(&self, run: RunId) -> Result<TransactionReceipt> {
        let call = self.escrow.settleDispute(run.to_u256());
        self.act("settleDispute", run, call.into_transaction_request()).await
    }

    /// Slashes the silent agent of a run.
    pub async fn slash(&self, run: RunId) -> Result<TransactionReceipt> {
        self.act("slash", run, self.escrow.slash(run.to_u256()).into_transaction_request()).await
    }

    /// Expires an OPEN run past its deadline.
    pub async fn expire(&self, run: RunId) -> Result<TransactionReceipt> {
        self.act("expire", run, self.escrow.expire(run.to_u256()).into_transaction_request()).await
    }

    /// Approves a SUBMITTED run whose review period passed.
    pub async fn approve_on_timeout(&self, run: RunId) -> Result<TransactionReceipt> {
        let call = self.escrow.approveOnTimeout(run.to_u256());
        self.act("approveOnTimeout", run, call.into_transaction_request()).await
    }

    async fn act(
        &self,
        action: &str,
        run: RunId,
        tx: TransactionRequest,
    ) -> Result<TransactionReceipt> {
        self.send(&format!("{action}(run {run})"), tx).await
    }

    async fn created(&self, step: &str, tx: TransactionRequest) -> Result<RunId> {
        let receipt = self.send(step, tx).await?;
        let id = receipt
            .decoded_log::<RunEscrow::RunCreated>()
            .map(|log| log.data.runId)
            .ok_or_else(|| missing_event(step, "RunCreated", &receipt))?;
        Ok(RunId::new(u64_id(id)))
    }

    /// Sends `tx` from this account, waits until it is mined and checks it succeeded.
    pub async fn send(&self, step: &str, tx: TransactionRequest) -> Result<TransactionReceipt> {
        runs_bindings::send(&self.provider, tx.with_from(self.address), RECEIPT_TIMEOUT)
            .await
            .map_err(|source| Error::Transaction {
                step: format!("{step} as {}", self.address),
                source,
            })
    }
}

/// The latest block's timestamp: the chain's "now", which `evm_increaseTime` moves.
pub async fn chain_time<P: Provider>(provider: &P) -> Result<u64> {
    let block = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .map_err(|source| Error::Rpc { step: "reading the latest block".into(), source })?;
    Ok(block.map(|b| b.header.timestamp).unwrap_or_default())
}

/// Moves the dev chain's clock forward by `seconds` and mines a block, so the next transaction
/// and every view see the new time. Anvil (or Hardhat) only.
pub async fn advance_time<P: Provider>(provider: &P, seconds: u64) -> Result<()> {
    provider.anvil_increase_time(seconds).await.map_err(|source| Error::Rpc {
        step: "evm_increaseTime (is this an Anvil node?)".into(),
        source,
    })?;
    provider
        .anvil_mine(Some(1), None)
        .await
        .map_err(|source| Error::Rpc { step: "evm_mine".into(), source })?;
    Ok(())
}

fn missing_event(step: &str, event: &str, receipt: &TransactionReceipt) -> Error {
    Error::Send {
        step: step.to_owned(),
        reason: format!("no {event} event in transaction {}", receipt.transaction_hash),
    }
}

/// Ids count up from 1 and never approach `u64::MAX`; saturate rather than panic.
fn u64_id(id: U256) -> u64 {
    u64::try_from(id).unwrap_or(u64::MAX)
}
