-- Seed for bench/api.sh: a marketplace index with :runs runs (default 1,000,000) on chain
-- :chain, written straight into the tables of crates/db/migrations/postgres (after
-- `runs db migrate`), as the indexer would have left them. psql variables: runs, agents, chain.
--
-- Distribution (deterministic: setseed): one run per block, 25 s apart (~290 days for 1M runs);
-- rewards log-uniform from 10 to 10,000 USDC (2/3 of them >= 100) with a 2.5% fee; states
-- 40% OPEN, 3% DRAFT, 5% CLAIMED, 7% IN_PROGRESS, 5% SUBMITTED, 2% REVISION_REQUESTED,
-- 25% APPROVED, 3% REJECTED, 5% CANCELLED, 5% EXPIRED; 5,000 posters; runs past OPEN held by
-- one of :agents agents. Each run has the events of its history (RunCreated, RunFunded, Claimed,
-- ..., ~3.5 per run), so GET /api/runs/{id} reads a realistic event list.

\set ON_ERROR_STOP on
SET synchronous_commit = off;
SELECT setseed(0.4242);

BEGIN;

TRUNCATE runs, agents, events, chain_params, checkpoint, blocks, credits;

-- Agents: staked, some with history; a few frozen.
INSERT INTO agents (chain_id, agent_id, wallet, metadata_uri, stake, pending_unstake,
    unstake_ready_at, staked_since, frozen, strikes, claims, completions, active_claims, volume,
    last_status, registered_at, updated_at, registered_block, updated_block)
SELECT :chain, a,
    '0xa' || lpad(to_hex(a), 39, '0'),
    'ipfs://agent-' || a,
    (100 + (a % 50) * 10)::numeric * 1000000, 0, NULL,
    1700000000 - 86400 * 40 + a, a % 97 = 0, (a % 13 = 0)::int, 0, 0, 0, 0,
    CASE WHEN a % 97 = 0 THEN 'FROZEN' ELSE 'PROVISIONAL' END,
    1700000000 - 86400 * 40, 1700000000 - 86400 * 40, 1, 1
FROM generate_series(1, :agents) AS a;

-- Runs. r = one random draw per column, taken in a subquery so each row gets its own.
INSERT INTO runs (chain_id, run_id, poster, spec_uri, reward, fee, deadline, state, agent_id,
    agent_wallet, deliverable_uri, revision_count, max_revisions, claim_timeout, review_period,
    funded, claimed_at, submitted_at, timer_start, created_at, updated_at, created_block,
    updated_block, required_stake, terms_version, dispute_window, ruling_period, arbitrator)
SELECT :chain, i,
    '0xb' || lpad(to_hex(1 + (i * 7919) % 5000), 39, '0'),
    'ipfs://bafy' || md5(i::text),
    reward, reward * 25 / 1000,
    created + 86400 * (3 + i % 27),
    state,
    CASE WHEN held THEN agent END,
    CASE WHEN held THEN '0xa' || lpad(to_hex(agent), 39, '0') END,
    CASE WHEN state IN ('SUBMITTED', 'REVISION_REQUESTED', 'APPROVED', 'REJECTED')
        THEN 'ipfs://deliverable-' || i END,
    CASE WHEN state = 'REVISION_REQUESTED' THEN 1 ELSE 0 END,
    2, 86400 * 3, 86400 * 2,
    state <> 'DRAFT',
    CASE WHEN held THEN created + 3600 END,
    CASE WHEN state IN ('SUBMITTED', 'REVISION_REQUESTED', 'APPROVED', 'REJECTED')
        THEN created + 7200 END,
    CASE WHEN held THEN created + 3600 END,
    created,
    created + CASE WHEN state IN ('DRAFT', 'OPEN') THEN 0 ELSE 10800 END,
    i, i + CASE WHEN state IN ('DRAFT', 'OPEN') THEN 0 ELSE 400 END,
    20000000, 1, 259200, 1209600, '0x' || repeat('a', 40)
FROM (
    SELECT i, created, reward, agent, state,
        state NOT IN ('DRAFT', 'OPEN', 'CANCELLED', 'EXPIRED') AS held
    FROM (
        SELECT i,
            1700000000 + i::bigint * 25 AS created,
            -- log-uniform 10..10,000 USDC, in whole cents
            round(power(10, 1 + 3 * random())::numeric, 2) * 1000000 AS reward,
            1 + (i * 31) % :agents AS agent,
            random() AS s
        FROM generate_series(1::bigint, :runs) AS i
    ) draw
    CROSS JOIN LATERAL (SELECT CASE
        WHEN s < 0.40 THEN 'OPEN'
        WHEN s < 0.43 THEN 'DRAFT'
        WHEN s < 0.48 THEN 'CLAIMED'
        WHEN s < 0.55 THEN 'IN_PROGRESS'
        WHEN s < 0.60 THEN 'SUBMITTED'
        WHEN s < 0.62 THEN 'REVISION_REQUESTED'
        WHEN s < 0.87 THEN 'APPROVED'
        WHEN s < 0.90 THEN 'REJECTED'
        WHEN s < 0.95 THEN 'CANCELLED'
        ELSE 'EXPIRED' END AS state) st
) picked;

-- Each run's history: the steps its state implies, in order, 200 blocks apart.
INSERT INTO events (chain_id, block_number, block_hash, block_timestamp, tx_hash, log_index,
    address, kind, run_id, agent_id, payload, poster, seq)
SELECT :chain, r.created_block + 200 * step.n,
    '0xc' || lpad(to_hex(r.created_block + 200 * step.n), 63, '0'),
    r.created_at + 5000 * step.n,
    '0xd' || lpad(to_hex(r.run_id), 55, '0') || lpad(to_hex(step.n), 8, '0'),
    0,
    '0x' || repeat('e', 40),
    step.kind,
    r.run_id,
    CASE WHEN step.kind IN ('Claimed', 'WorkStarted', 'Submitted', 'RevisionRequested',
        'Approved', 'Rejected') THEN r.agent_id END,
    CASE step.kind
        WHEN 'RunCreated' THEN jsonb_build_object('type', 'RunCreated', 'runId', r.run_id,
            'poster', r.poster, 'specUri', r.spec_uri, 'reward', r.reward::text,
            'fee', r.fee::text, 'deadline', r.deadline, 'maxRevisions', r.max_revisions,
            'claimTimeout', r.claim_timeout, 'reviewPeriod', r.review_period,
            'requiredStake', r.required_stake::text, 'termsVersion', r.terms_version,
            'disputeWindow', r.dispute_window, 'rulingPeriod', r.ruling_period,
            'arbitrator', r.arbitrator)
        WHEN 'RunFunded' THEN jsonb_build_object('type', 'RunFunded', 'runId', r.run_id,
            'poster', r.poster, 'amount', (r.reward + r.fee)::text)
        WHEN 'Claimed' THEN jsonb_build_object('type', 'Claimed', 'runId', r.run_id,
            'agentId', r.agent_id, 'wallet', r.agent_wallet, 'reserved', r.required_stake::text)
        WHEN 'WorkStarted' THEN jsonb_build_object('type', 'WorkStarted', 'runId', r.run_id,
            'agentId', r.agent_id)
        WHEN 'Submitted' THEN jsonb_build_object('type', 'Submitted', 'runId', r.run_id,
            'agentId', r.agent_id, 'deliverableUri', r.deliverable_uri, 'revisionCount', 0)
        WHEN 'RevisionRequested' THEN jsonb_build_object('type', 'RevisionRequested',
            'runId', r.run_id, 'agentId', r.agent_id, 'reasonUri', 'ipfs://please-add-tests',
            'revisionCount', 1)
        WHEN 'Approved' THEN jsonb_build_object('type', 'Approved', 'runId', r.run_id,
            'agentId', r.agent_id, 'wallet', r.agent_wallet, 'reward', r.reward::text,
            'fee', r.fee::text, 'bond', '0', 'onTimeout', false)
        WHEN 'Rejected' THEN jsonb_build_object('type', 'Rejected', 'runId', r.run_id,
            'agentId', r.agent_id, 'poster', r.poster, 'reasonUri', 'ipfs://not-what-was-asked',
            'bond', r.required_stake::text)
        WHEN 'RunCancelled' THEN jsonb_build_object('type', 'RunCancelled', 'runId', r.run_id,
            'poster', r.poster, 'refund', (r.reward + r.fee)::text)
        WHEN 'RunExpired' THEN jsonb_build_object('type', 'RunExpired', 'runId', r.run_id,
            'poster', r.poster, 'refund', (r.reward + r.fee)::text)
    END,
    r.poster,
    row_number() OVER (ORDER BY r.created_block + 200 * step.n, r.run_id)
FROM runs r
CROSS JOIN LATERAL unnest(CASE r.state
    WHEN 'DRAFT' THEN ARRAY['RunCreated']
    WHEN 'OPEN' THEN ARRAY['RunCreated', 'RunFunded']
    WHEN 'CLAIMED' THEN ARRAY['RunCreated', 'RunFunded', 'Claimed']
    WHEN 'IN_PROGRESS' THEN ARRAY['RunCreated', 'RunFunded', 'Claimed', 'WorkStarted']
    WHEN 'SUBMITTED' THEN ARRAY['RunCreated', 'RunFunded', 'Claimed', 'WorkStarted', 'Submitted']
    WHEN 'REVISION_REQUESTED' THEN ARRAY['RunCreated', 'RunFunded', 'Claimed', 'WorkStarted',
        'Submitted', 'RevisionRequested']
    WHEN 'APPROVED' THEN ARRAY['RunCreated', 'RunFunded', 'Claimed', 'WorkStarted', 'Submitted',
        'Approved']
    WHEN 'REJECTED' THEN ARRAY['RunCreated', 'RunFunded', 'Claimed', 'WorkStarted', 'Submitted',
        'Rejected']
    WHEN 'CANCELLED' THEN ARRAY['RunCreated', 'RunFunded', 'RunCancelled']
    ELSE ARRAY['RunCreated', 'RunFunded', 'RunExpired'] END) WITH ORDINALITY AS step(kind, n)
WHERE r.chain_id = :chain;

-- Agent counters consistent with the runs they hold.
UPDATE agents a SET claims = c.claims, completions = c.completions, active_claims = c.active,
    volume = c.volume
FROM (
    SELECT agent_id, count(*) AS claims,
        count(*) FILTER (WHERE state = 'APPROVED') AS completions,
        count(*) FILTER (WHERE state IN ('CLAIMED', 'IN_PROGRESS', 'SUBMITTED',
            'REVISION_REQUESTED')) AS active,
        coalesce(sum(reward) FILTER (WHERE state = 'APPROVED'), 0) AS volume
    FROM runs WHERE chain_id = :chain AND agent_id IS NOT NULL GROUP BY agent_id
) c
WHERE a.chain_id = :chain AND a.agent_id = c.agent_id;

INSERT INTO chain_params (chain_id, fee_bps, claim_timeout, review_period, min_stake,
    unstake_cooldown, strikes_to_ban, established_completions, established_age, treasury, paused)
VALUES (:chain, 250, 259200, 172800, 100000000, 604800, 3, 10, 2592000,
    '0x' || repeat('f', 40), false);

-- The indexer's checkpoint: past every event.
INSERT INTO checkpoint (chain_id, number, hash, parent_hash, timestamp, updated_at)
SELECT :chain, max(block_number) + 1, '0x' || repeat('1', 64), '0x' || repeat('2', 64),
    max(block_timestamp) + 12, max(block_timestamp) + 12
FROM events WHERE chain_id = :chain;

COMMIT;

-- Fresh statistics and a visibility map (index-only scans), as autovacuum would leave them.
VACUUM ANALYZE runs;
VACUUM ANALYZE events;
VACUUM ANALYZE agents;
