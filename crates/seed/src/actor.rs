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

/// The actor's methods that send one `RunEscrow` call about one run: `name => call` for calls
/// taking only the run id, `name(text) => call` for those also taking a URI or a reason.
macro_rules! run_actions {
    ($($(#[$doc:meta])* $name:ident => $call:ident;)+) => {$(
        $(#[$doc])*
        pub async fn $name(&self, run: RunId) -> Result<TransactionReceipt> {
            let call = self.escrow.$call(run.to_u256());
            self.act(stringify!($call), run, call.into_transaction_request()).await
        }
    )+};
    ($($(#[$doc:meta])* $name:ident($text:ident) => $call:ident;)+) => {$(
        $(#[$doc])*
        pub async fn $name(&self, run: RunId, $text: &str) -> Result<TransactionReceipt> {
            let call = self.escrow.$call(run.to_u256(), $text.to_owned());
            self.act(stringify!($call), run, call.into_transaction_request()).await
        }
    )+};
}

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
        spec: &str,
        reward: Usdc,
        deadline: u64,
        revisions: u8,
    ) -> Result<RunId> {
        self.create(false, spec, reward, deadline, revisions).await
    }

    /// Creates and funds a run (OPEN) with the default required stake under the current terms;
    /// its id.
    pub async fn create_and_fund(
        &self,
        spec: &str,
        reward: Usdc,
        deadline: u64,
        revisions: u8,
    ) -> Result<RunId> {
        self.create(true, spec, reward, deadline, revisions).await
    }

    async fn create(
        &self,
        fund: bool,
        spec: &str,
        reward: Usdc,
        deadline: u64,
        revisions: u8,
    ) -> Result<RunId> {
        let (spec, reward) = (spec.to_owned(), reward.base_units());
        let (deadline, revisions) = (U256::from(deadline), U256::from(revisions));
        // The minimum as the required stake (0), under the current terms (0).
        let (step, tx) = if fund {
            let call = self.escrow.createAndFund(
                spec,
                reward,
                deadline,
                revisions,
                U256::ZERO,
                U256::ZERO,
            );
            ("creating and funding a run", call.into_transaction_request())
        } else {
            let call =
                self.escrow.createRun(spec, reward, deadline, revisions, U256::ZERO, U256::ZERO);
            ("creating a run", call.into_transaction_request())
        };
        let receipt = self.send(step, tx).await?;
        let id = receipt
            .decoded_log::<RunEscrow::RunCreated>()
            .map(|log| log.data.runId)
            .ok_or_else(|| missing_event(step, "RunCreated", &receipt))?;
        Ok(RunId::new(u64_id(id)))
    }

    run_actions! {
        /// Funds a DRAFT run.
        fund => fund;
        /// Cancels a DRAFT or OPEN run.
        cancel => cancel;
        /// Marks a CLAIMED run IN_PROGRESS.
        start => start;
        /// Approves a SUBMITTED run.
        approve => approve;
        /// Hands a CLAIMED or IN_PROGRESS run back (OPEN again); the reservation goes to the
        /// poster.
        abandon => abandon;
        /// Accepts a rejection at once (the agent): it settles as a final rejection.
        accept_rejection => acceptRejection;
        /// Settles a rejection whose dispute window passed without a dispute (anyone).
        finalize_rejection => finalizeRejection;
        /// Settles a dispute the arbitrator left unruled past the ruling period (anyone): 50/50.
        settle_dispute => settleDispute;
        /// Slashes the silent agent of a run.
        slash => slash;
        /// Expires an OPEN run past its deadline.
        expire => expire;
        /// Approves a SUBMITTED run whose review period passed.
        approve_on_timeout => approveOnTimeout;
    }

    run_actions! {
        /// Submits a deliverable.
        submit(deliverable_uri) => submit;
        /// Asks for a revision of a SUBMITTED run.
        request_revision(reason) => requestRevision;
        /// Rejects a SUBMITTED run whose revisions are used up, posting the rejection bond (the
        /// run's required stake, pulled like the reward: [`Actor::approve_all`] covers it).
        reject(reason_uri) => reject;
        /// Disputes a rejection within the dispute window (the agent).
        dispute(evidence_uri) => dispute;
        /// Adds evidence to an open rejection or a dispute (poster or agent).
        submit_evidence(uri) => submitEvidence;
    }

    /// Claims an OPEN run for `agent` (this account must be its wallet).
    pub async fn claim(&self, run: RunId, agent: AgentId) -> Result<TransactionReceipt> {
        let call = self.escrow.claim(run.to_u256(), agent.to_u256());
        self.act("claim", run, call.into_transaction_request()).await
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

    async fn act(
        &self,
        action: &str,
        run: RunId,
        tx: TransactionRequest,
    ) -> Result<TransactionReceipt> {
        self.send(&format!("{action}(run {run})"), tx).await
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
