//! `runs evidence RUN URI`: the poster or the agent adds evidence to an open rejection or a
//! dispute, for the arbitrator (an event only; nothing moves).

use runs_primitives::RunId;

use crate::{
    args::SendArgs,
    market::{self, TextAction},
};

/// Add evidence to a REJECTED (not yet final) or DISPUTED run, as its poster or its agent; the
/// arbitrator reads it from the EvidenceSubmitted event.
#[derive(Debug, clap::Args)]
pub(crate) struct EvidenceArgs {
    /// The run.
    run_id: RunId,
    /// The evidence (an IPFS or any content URI, at most 2 KB).
    uri: String,
    #[command(flatten)]
    tx: SendArgs,
}

impl EvidenceArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let chain = self.tx.connect().await?;
        market::run_text_action(&chain, self.run_id, TextAction::SubmitEvidence, &self.uri)
            .await?
            .print(self.tx.output.json)?;
        Ok(())
    }
}
