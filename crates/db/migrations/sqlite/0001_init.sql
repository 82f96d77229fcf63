-- The runs marketplace index (SQLite). Same tables and columns as the Postgres schema. Amounts are
-- TEXT of exactly 78 zero-padded digits (a uint256 fits; text order is numeric order; never REAL),
-- times are unix seconds (INTEGER), addresses and hashes lowercase 0x hex. Every table is keyed by
-- chain_id so one database can hold several chains.

-- Raw contract events, exactly once per log.
CREATE TABLE events (
    chain_id        INTEGER NOT NULL,
    block_number    INTEGER NOT NULL,
    block_hash      TEXT    NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    log_index       INTEGER NOT NULL,
    address         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    run_id          INTEGER,
    agent_id        INTEGER,
    payload         TEXT    NOT NULL,
    PRIMARY KEY (chain_id, tx_hash, log_index)
) STRICT;
CREATE INDEX events_run_idx ON events (chain_id, run_id, block_number, log_index)
    WHERE run_id IS NOT NULL;
CREATE INDEX events_agent_idx ON events (chain_id, agent_id, block_number, log_index)
    WHERE agent_id IS NOT NULL;
CREATE INDEX events_block_idx ON events (chain_id, block_number, log_index);
CREATE INDEX events_kind_idx ON events (chain_id, kind, block_number, log_index);

-- Runs as the escrow holds them.
CREATE TABLE runs (
    chain_id        INTEGER        NOT NULL,
    run_id          INTEGER        NOT NULL,
    poster          TEXT           NOT NULL,
    spec_uri        TEXT           NOT NULL,
    reward          TEXT           NOT NULL,
    fee             TEXT           NOT NULL,
    deadline        INTEGER        NOT NULL,
    state           TEXT           NOT NULL,
    agent_id        INTEGER,
    agent_wallet    TEXT,
    deliverable_uri TEXT,
    revision_count  INTEGER        NOT NULL,
    max_revisions   INTEGER        NOT NULL,
    claim_timeout   INTEGER        NOT NULL,
    review_period   INTEGER        NOT NULL,
    funded          INTEGER        NOT NULL,
    claimed_at      INTEGER,
    submitted_at    INTEGER,
    timer_start     INTEGER,
    created_at      INTEGER        NOT NULL,
    updated_at      INTEGER        NOT NULL,
    created_block   INTEGER        NOT NULL,
    updated_block   INTEGER        NOT NULL,
    PRIMARY KEY (chain_id, run_id)
) STRICT;
CREATE INDEX runs_state_reward_idx ON runs (chain_id, state, reward, run_id);
CREATE INDEX runs_state_created_idx ON runs (chain_id, state, created_at, run_id);
CREATE INDEX runs_state_deadline_idx ON runs (chain_id, state, deadline, run_id);
CREATE INDEX runs_poster_idx ON runs (chain_id, poster, created_at, run_id);
CREATE INDEX runs_agent_idx ON runs (chain_id, agent_id, created_at, run_id);
CREATE INDEX runs_reward_idx ON runs (chain_id, reward, run_id);
CREATE INDEX runs_created_idx ON runs (chain_id, created_at, run_id);
CREATE INDEX runs_deadline_idx ON runs (chain_id, deadline, run_id);

-- Agents as the vault holds them.
CREATE TABLE agents (
    chain_id         INTEGER        NOT NULL,
    agent_id         INTEGER        NOT NULL,
    wallet           TEXT           NOT NULL,
    metadata_uri     TEXT           NOT NULL,
    stake            TEXT           NOT NULL,
    pending_unstake  TEXT           NOT NULL,
    unstake_ready_at INTEGER,
    staked_since     INTEGER,
    frozen           INTEGER        NOT NULL,
    slashes          INTEGER        NOT NULL,
    claims           INTEGER        NOT NULL,
    completions      INTEGER        NOT NULL,
    active_claims    INTEGER        NOT NULL,
    volume           TEXT           NOT NULL,
    last_status      TEXT           NOT NULL,
    registered_at    INTEGER        NOT NULL,
    updated_at       INTEGER        NOT NULL,
    registered_block INTEGER        NOT NULL,
    updated_block    INTEGER        NOT NULL,
    PRIMARY KEY (chain_id, agent_id),
    UNIQUE (chain_id, wallet)
) STRICT;
CREATE INDEX agents_status_idx ON agents (chain_id, last_status, agent_id);
CREATE INDEX agents_stake_idx ON agents (chain_id, stake, agent_id);
CREATE INDEX agents_completions_idx ON agents (chain_id, completions, agent_id);

-- The parameters in force, folded from the parameter events.
CREATE TABLE chain_params (
    chain_id                INTEGER        PRIMARY KEY,
    fee_bps                 INTEGER        NOT NULL,
    claim_timeout           INTEGER        NOT NULL,
    review_period           INTEGER        NOT NULL,
    min_stake               TEXT           NOT NULL,
    unstake_cooldown        INTEGER        NOT NULL,
    strikes_to_ban          INTEGER        NOT NULL,
    established_completions INTEGER        NOT NULL,
    established_age         INTEGER        NOT NULL,
    treasury                TEXT,
    paused                  INTEGER        NOT NULL
) STRICT;

-- Credits owed after failed payouts.
CREATE TABLE credits (
    chain_id INTEGER        NOT NULL,
    account  TEXT           NOT NULL,
    amount   TEXT           NOT NULL,
    PRIMARY KEY (chain_id, account)
) STRICT;

-- The recent-block window used to detect reorgs.
CREATE TABLE blocks (
    chain_id    INTEGER NOT NULL,
    number      INTEGER NOT NULL,
    hash        TEXT   NOT NULL,
    parent_hash TEXT   NOT NULL,
    timestamp   INTEGER NOT NULL,
    PRIMARY KEY (chain_id, number)
) STRICT;

-- The last fully indexed block.
CREATE TABLE checkpoint (
    chain_id    INTEGER PRIMARY KEY,
    number      INTEGER NOT NULL,
    hash        TEXT   NOT NULL,
    parent_hash TEXT   NOT NULL,
    timestamp   INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
