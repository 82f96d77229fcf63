//! `runs arbiter ...`: the arbitrator's side. RunEscrow never calls the arbitrator: it learns of
//! a dispute from the `Disputed` event and answers with `resolve` within the ruling period.

use alloy::primitives::U256;
use runs_primitives::RunId;

use crate::{args::SendArgs, hints::HintedError, market};

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
    /// The agent's share of reward and fee, in percent with up to two decimals: 0 (the poster
    /// was right) to 100 (the agent was), e.g. 60 or 62.5.
    #[arg(long = "agent-share", value_name = "PERCENT", value_parser = parse_percent)]
    agent_share_bps: u16,
    /// Also count a strike against the agent (only with --agent-share 0: bad faith, not just bad
    /// work).
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
        market::run_report(&chain, self.run_id, vec![tx], market::Audience::Anyone)
            .await?
            .print(self.tx.output.json)?;
        Ok(())
    }
}

/// A percentage with up to two decimals (`60`, `62.5`, `0.01`) as basis points; at most 100%.
fn parse_percent(raw: &str) -> Result<u16, String> {
    let bad = || format!("`{raw}` is not a percentage from 0 to 100 with at most two decimals");
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if raw.contains('.') && fraction.is_empty() {
        return Err(bad());
    }
    let whole: u16 = whole.parse().map_err(|_| bad())?;
    let cents: u16 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let bps = whole.checked_mul(100).and_then(|w| w.checked_add(cents)).ok_or_else(bad)?;
    if bps > BPS {
        return Err(format!("`{raw}` is over 100%"));
    }
    Ok(bps)
}

/// The contract's rule, checked before anything is signed: a strike only with a share of 0.
fn check_ruling(agent_share_bps: u16, strike: bool) -> Result<(), HintedError> {
    if strike && agent_share_bps != 0 {
        return Err(HintedError {
            message: format!("--strike with --agent-share {}%", percent(agent_share_bps)),
            hint: "a strike goes only with a ruling wholly for the poster (--agent-share 0)".into(),
        });
    }
    Ok(())
}

/// Basis points as a percentage, e.g. 6250 -> `62.5`.
fn percent(bps: u16) -> String {
    let (whole, cents) = (bps / 100, bps % 100);
    match cents {
        0 => whole.to_string(),
        c if c % 10 == 0 => format!("{whole}.{}", c / 10),
        c => format!("{whole}.{c:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rulings_are_checked_before_signing() {
        assert!(check_ruling(0, true).is_ok());
        assert!(check_ruling(10_000, false).is_ok());
        assert_eq!(
            check_ruling(6_000, true).unwrap_err().message,
            "--strike with --agent-share 60%"
        );
    }

    #[test]
    fn shares_are_percentages_with_two_decimals() {
        for (raw, bps) in [("0", 0), ("60", 6_000), ("62.5", 6_250), ("0.01", 1), ("100", 10_000)] {
            assert_eq!(parse_percent(raw), Ok(bps), "{raw}");
        }
        for raw in ["", "-1", "100.01", "101", "60.", ".5", "1.234", "6e1", "1000", " 60"] {
            assert!(parse_percent(raw).is_err(), "{raw}");
        }
        assert_eq!(
            (percent(6_250), percent(6_000), percent(1)),
            ("62.5".into(), "60".into(), "0.01".into())
        );
    }
}
