//! The seed on a fresh Anvil: every run state is reached (REJECTED both open and final), the
//! disputes end as planned, and every agent keeps the stake its live claims reserve.

use alloy::primitives::U256;
use runs_bindings::{RunEscrow, StakeVault};
use runs_primitives::{AgentStatus, RunState, Usdc};
use runs_seed::SeedReport;

#[tokio::test(flavor = "multi_thread")]
async fn seeds_every_state_and_checks_it_on_chain() {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let signers: Vec<_> = (0..10).map(|i| runs_testkit::signer(&anvil, i)).collect();
    let mut steps = Vec::new();
    let report = runs_seed::seed(&anvil.endpoint_url(), manifest, &signers, &mut |step: &str| {
        steps.push(step.to_owned());
    })
    .await
    .expect("seed");
    assert!(steps.iter().any(|step| step.contains("dispute")), "progress: {steps:?}");

    for state in RunState::ALL {
        assert!(report.runs_in(*state).next().is_some(), "no seeded run is {state}");
    }
    let rejected: Vec<_> = report.runs_in(RunState::Rejected).map(|run| run.settled).collect();
    assert!(rejected.contains(&true) && rejected.contains(&false), "{rejected:?}");

    let provider = runs_testkit::read_provider(&anvil);
    let escrow = RunEscrow::new(manifest.contracts.run_escrow.address, &provider);
    let vault = StakeVault::new(manifest.contracts.stake_vault.address, &provider);

    // The two resolved runs: one ruled by the arbitrator (the deployer), one settled by default.
    let resolved = resolutions(&escrow, &report).await;
    assert_eq!(resolved.len(), 2, "{resolved:?}");
    assert!(resolved.contains(&(6_000, false)), "a 60% ruling: {resolved:?}");
    assert!(resolved.contains(&(5_000, true)), "the default split: {resolved:?}");

    // Every reservation is backed: reserved ≤ stake, and each agent's reservation is the
    // required stake of each run it still holds.
    let min = manifest.parameters.min_stake.base_units();
    for agent in &report.agents {
        let on_chain = vault.getAgent(agent.id.to_u256()).call().await.unwrap();
        assert!(on_chain.reserved <= on_chain.stake, "agent {}", agent.name);
        let mut held = U256::ZERO;
        for run in &report.runs {
            let run = escrow.getRun(run.id.to_u256()).call().await.unwrap();
            let state = RunState::try_from(run.state).unwrap();
            if run.agentId == agent.id.to_u256() && state.holds_claim() && !run.settled {
                held += run.requiredStake;
            }
        }
        assert_eq!(on_chain.reserved, held, "agent {} reservations", agent.name);
        if agent.name == "atlas" {
            // Ten times the minimum, less the reservation it abandoned.
            assert_eq!(on_chain.stake, min * U256::from(9), "atlas's stake");
            assert!(on_chain.disputesWon >= 1);
        }
    }
    let status = |name: &str| report.agents.iter().find(|a| a.name == name).unwrap().status;
    assert_eq!(status("atlas"), AgentStatus::Established);
    assert_eq!(status("beacon"), AgentStatus::Provisional);
    assert_eq!(status("fallow"), AgentStatus::Banned);
    assert!(report.advanced > manifest.parameters.ruling_period);
    assert!(manifest.parameters.min_stake >= Usdc::whole(1));
}

/// `(agentShareBps, byDefault)` of every RESOLVED run, from its `DisputeResolved` event.
async fn resolutions(
    escrow: &RunEscrow::RunEscrowInstance<&alloy::providers::DynProvider>,
    report: &SeedReport,
) -> Vec<(u16, bool)> {
    let events = escrow.DisputeResolved_filter().from_block(0).query().await.unwrap();
    let resolved: Vec<_> = report.runs_in(RunState::Resolved).map(|run| run.id.to_u256()).collect();
    events
        .into_iter()
        .filter(|(event, _)| resolved.contains(&event.runId))
        .map(|(event, _)| (event.ruling.agentShareBps, event.ruling.byDefault))
        .collect()
}
