//! `runs arbiter ...`: the arbitrator's side. RunEscrow never calls the arbitrator: it learns of
//! a dispute from the `Disputed` event and answers with `resolve` within the ruling period.

use alloy::primitives::U256;
use runs_primitives::RunId;

use crate::{chain::SendArgs, cmd::run::report_with_state, hints::HintedError};

/// Arbitrator commands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ArbiterCommand {
    /// Rule on a DISPUTED run within its ruling period (the run's arbitrator only). The agent
    /// gets its share of the reward (the treasury the same share of the fee, the poster the
    /// rest); at 50% or more the poster's bond also goes to the agent, below 50% the agent's
    /// reservation goes to the poster.
    Resolve(ResolveArgs),
}

/// `runs arbiter resolve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ResolveArgs {
    /// The disputed run.
    run_id: RunId,
    /// The agent's share, in basis points: 0 (the poster was right) to 10000 (the agent was).
    #[arg(long, value_name = "BPS")]
    agent_share_bps: u16,
    /// Also count a strike against the agent (only with --agent-share-bps 0: bad faith, not
    /// just bad work).
    #[arg(long)]
    strike: bool,
    #[command(flatten)]
    tx: SendArgs,
}

/// Basis points in a whole.
const BPS: u16 = 10_000;

impl ArbiterCommand {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        match self {
            Self::Resolve(args) => args.run().await,
        }
    }
}

impl ResolveArgs {
    async fn run(self) -> eyre::Result<()> {
        check_ruling(self.agent_share_bps, self.strike)?;
        let chain = self.tx.connect().await?;
        let escrow = chain.escrow();
        let call =
            escrow.resolve(self.run_id.to_u256(), U256::from(self.agent_share_bps), self.strike);
        let label = format!(
            "RunEscrow.resolve({}, {}, {})",
            self.run_id, self.agent_share_bps, self.strike
        );
        let tx = chain.send(&label, call).await?;
        report_with_state(&chain, self.run_id, vec![tx], self.tx.output.json).await
    }
}

/// The contract's rule, checked before anything is signed: a share of at most 100%, and a
/// strike only with a share of 0.
fn check_ruling(agent_share_bps: u16, strike: bool) -> Result<(), HintedError> {
    if agent_share_bps > BPS {
        return Err(HintedError {
            message: format!("--agent-share-bps {agent_share_bps} is over {BPS} (100%)"),
            hint: "pass the agent's share in basis points, 0 to 10000 (e.g. 6000 for 60%)".into(),
        });
    }
    if strike && agent_share_bps != 0 {
        return Err(HintedError {
            message: format!("--strike with --agent-share-bps {agent_share_bps}"),
            hint: "a strike goes only with a ruling wholly for the poster (--agent-share-bps 0)"
                .into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rulings_are_checked_before_signing() {
        assert!(check_ruling(0, true).is_ok());
        assert!(check_ruling(10_000, false).is_ok());
        assert!(check_ruling(10_001, false).unwrap_err().message.contains("over 10000"));
        assert!(check_ruling(6_000, true).unwrap_err().message.contains("--strike"));
    }
}
