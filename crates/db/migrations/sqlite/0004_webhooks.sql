-- Webhook subscriptions (issue 11): the feed is the outbox. A subscription delivers the feed items
-- its filter selects, one POST each, in `seq` order, at least once: `delivered_seq` moves past an
-- item only after the receiver answered 2xx. A worker takes a subscription for a while
-- (`lease_owner`, `lease_until`; SQLite's one writer makes taking it atomic) so several processes
-- share the work without delivering one subscription twice at once; a killed worker's lease runs
-- out and another takes over from `delivered_seq`. Times are unix milliseconds.
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    chain_id        INTEGER NOT NULL,
    url             TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    kinds           TEXT    NOT NULL,
    run_id          INTEGER,
    agent_id        INTEGER,
    poster          TEXT,
    allow_private   INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    delivered_seq   INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    failing_since   INTEGER,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX webhooks_due_idx ON webhooks (chain_id, status, next_attempt_at);

-- Every delivery attempt, newest kept (the worker prunes each subscription's oldest).
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    delivery_id TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    status_code INTEGER,
    error       TEXT,
    at          INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
