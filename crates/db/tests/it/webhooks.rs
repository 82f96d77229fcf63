//! Webhook subscriptions in the store: filters round-trip, leases exclude other workers until
//! they run out, a worker that lost its lease (replay, removal, take-over) can store nothing,
//! the delivered position never goes back, and concurrent workers never take the same
//! subscription.

use std::collections::HashSet;

use runs_db::{
    Store,
    read::FeedFilter,
    webhooks::{Delivery, NewWebhook, Outcome, WebhookState, WebhookStatus},
};
use runs_primitives::{Address, AgentId, RunId};

use crate::{
    store::index_lifecycle,
    support::{CHAIN, TestDb, backends},
};

fn new(url: &str, filter: FeedFilter, after: Option<u64>) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        secret: "whsec_test".into(),
        filter,
        allow_private: true,
        after,
        now: 1_000,
    }
}

fn state(delivered_seq: u64) -> WebhookState {
    WebhookState {
        status: WebhookStatus::Active,
        delivered_seq,
        attempts: 0,
        failing_since: None,
        next_attempt_at: 0,
        last_error: None,
    }
}

fn delivery(seq: u64, outcome: Outcome) -> Delivery {
    Delivery {
        seq,
        delivery_id: format!("d{seq}"),
        attempt: 1,
        outcome,
        status_code: Some(if outcome == Outcome::Delivered { 200 } else { 503 }),
        error: (outcome != Outcome::Delivered).then(|| "HTTP 503".to_owned()),
        at: 1_000,
        duration_ms: 3,
    }
}

async fn ids(store: &Store, owner: &str, now: i64) -> Vec<u64> {
    let leased = store.lease_webhooks(CHAIN, owner, now, now + 1_000, 10).await.unwrap();
    leased.iter().map(|w| w.id).collect()
}

async fn subscriptions_lease_and_record(db: &TestDb) {
    let store = &db.store;
    let filter = FeedFilter {
        kinds: vec!["Claimed".into(), "Approved".into()],
        run_id: Some(RunId(3)),
        agent_id: Some(AgentId(2)),
        poster: Some(Address::repeat_byte(0xab)),
    };
    let early =
        store.add_webhook(CHAIN, &new("http://a.test/", filter.clone(), None)).await.unwrap();
    assert_eq!(
        (early.state.delivered_seq, early.state.status, early.filter.clone()),
        (0, WebhookStatus::Active, filter)
    );
    // Nothing in the feed yet: nothing is due.
    assert!(ids(store, "w1", 2_000).await.is_empty());

    index_lifecycle(store).await;
    let head = store.reader().await.unwrap().last_seq(CHAIN).await.unwrap();
    assert!(head > 5);
    // Added now: starts at the head (only new events), so it is not due; one from 0 is.
    let late = store
        .add_webhook(CHAIN, &new("http://b.test/", FeedFilter::default(), None))
        .await
        .unwrap();
    assert_eq!(late.state.delivered_seq, head);
    let all = store
        .add_webhook(CHAIN, &new("http://c.test/", FeedFilter::default(), Some(0)))
        .await
        .unwrap();
    assert_eq!(all.state.delivered_seq, 0);
    assert_eq!(
        store.webhooks(CHAIN).await.unwrap().iter().map(|w| w.id).collect::<Vec<_>>(),
        vec![early.id, late.id, all.id]
    );
    assert!(store.webhooks(CHAIN + 1).await.unwrap().is_empty());

    // w1 takes both due subscriptions; w2 gets none while the lease runs, all once it ran out.
    assert_eq!(ids(store, "w1", 2_000).await, vec![early.id, all.id]);
    assert!(ids(store, "w2", 2_999).await.is_empty());
    assert_eq!(ids(store, "w2", 3_000).await, vec![early.id, all.id]);
    // w1 lost them: it can store nothing.
    let lost = store
        .finish_webhook_attempt(
            all.id,
            "w1",
            &state(5),
            None,
            Some(&delivery(5, Outcome::Delivered)),
        )
        .await
        .unwrap();
    assert!(!lost);
    assert_eq!(store.webhook(CHAIN, all.id).await.unwrap().unwrap().state.delivered_seq, 0);
    // w2 stores a delivery and keeps the lease; a lower position does not move it back.
    assert!(
        store
            .finish_webhook_attempt(
                all.id,
                "w2",
                &state(5),
                Some(9_000),
                Some(&delivery(5, Outcome::Delivered))
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_webhook_attempt(
                all.id,
                "w2",
                &state(3),
                Some(9_000),
                Some(&delivery(6, Outcome::Failed))
            )
            .await
            .unwrap()
    );
    let now = store.webhook(CHAIN, all.id).await.unwrap().unwrap();
    assert_eq!(now.state.delivered_seq, 5);
    assert!(ids(store, "w3", 8_999).await.iter().all(|&id| id != all.id), "lease renewed to 9000");
    let deliveries = store.webhook_deliveries(CHAIN, all.id, 10).await.unwrap();
    assert_eq!(
        deliveries.iter().map(|d| (d.seq, d.outcome, d.status_code)).collect::<Vec<_>>(),
        vec![(6, Outcome::Failed, Some(503)), (5, Outcome::Delivered, Some(200))],
        "newest first"
    );
    assert!(store.webhook_deliveries(CHAIN + 1, all.id, 10).await.unwrap().is_empty());

    // Released and not due before its next attempt; a paused one is never due.
    let later = WebhookState { next_attempt_at: 20_000, ..state(5) };
    assert!(store.finish_webhook_attempt(all.id, "w2", &later, None, None).await.unwrap());
    assert!(!ids(store, "w4", 19_999).await.contains(&all.id));
    assert!(ids(store, "w4", 20_000).await.contains(&all.id));
    let paused = WebhookState { status: WebhookStatus::Paused, ..state(5) };
    assert!(store.finish_webhook_attempt(all.id, "w4", &paused, None, None).await.unwrap());
    let w5 = ids(store, "w5", 99_000).await;
    assert!(!w5.contains(&all.id) && w5.contains(&early.id), "{w5:?}");

    // Replay: active again from the position asked, and taken from whoever held it.
    assert!(store.replay_webhook(CHAIN, early.id, 1, 100_000).await.unwrap());
    assert!(store.replay_webhook(CHAIN, all.id, 4, 100_000).await.unwrap());
    assert!(!store.finish_webhook_attempt(early.id, "w5", &state(9), None, None).await.unwrap());
    let replayed = store.webhook(CHAIN, all.id).await.unwrap().unwrap();
    assert_eq!(
        (replayed.state.status, replayed.state.delivered_seq, replayed.state.attempts),
        (WebhookStatus::Active, 3, 0)
    );
    assert_eq!(ids(store, "w7", 100_000).await, vec![early.id, all.id]);

    // Removal: gone with its deliveries, and its worker can store nothing.
    assert!(store.remove_webhook(CHAIN, all.id).await.unwrap());
    assert!(!store.remove_webhook(CHAIN, all.id).await.unwrap());
    assert!(store.webhook(CHAIN, all.id).await.unwrap().is_none());
    assert!(store.webhook_deliveries(CHAIN, all.id, 10).await.unwrap().is_empty());
    assert!(!store.finish_webhook_attempt(all.id, "w7", &state(9), None, None).await.unwrap());
    assert!(!store.replay_webhook(CHAIN, all.id, 1, 0).await.unwrap());
}

async fn concurrent_workers_never_take_the_same_subscription(db: &TestDb) {
    index_lifecycle(&db.store).await;
    for i in 0..24 {
        db.store
            .add_webhook(CHAIN, &new(&format!("http://{i}.test/"), FeedFilter::default(), Some(0)))
            .await
            .unwrap();
    }
    let other = db.connect_again().await;
    let take = |store: Store, owner: &'static str| async move {
        let mut got = Vec::new();
        for _ in 0..12 {
            let leased = store.lease_webhooks(CHAIN, owner, 5_000, 60_000, 2).await.unwrap();
            got.extend(leased.into_iter().map(|w| w.id));
        }
        got
    };
    let (a, b) = tokio::join!(
        tokio::spawn(take(db.store.clone(), "a")),
        tokio::spawn(take(other.clone(), "b"))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut seen = HashSet::new();
    for id in a.iter().chain(&b) {
        assert!(seen.insert(*id), "subscription {id} taken twice: a {a:?}, b {b:?}");
    }
    assert_eq!(seen.len(), 24, "a {a:?}, b {b:?}");
    other.close().await;
}

backends!(subscriptions_lease_and_record, concurrent_workers_never_take_the_same_subscription);
