-- The runs marketplace index (Postgres). Amounts are NUMERIC(78,0) (a uint256 fits exactly),
-- times are unix seconds (BIGINT), addresses and hashes lowercase 0x hex. Every table is keyed by
-- chain_id so one database can hold several chains.

-- Raw contract events, exactly once per log.
CREATE TABLE events (
    chain_id        BIGINT  NOT NULL,
    block_number    BIGINT  NOT NULL,
    block_hash      TEXT    NOT NULL,
    block_timestamp BIGINT  NOT NULL,
    tx_hash         TEXT    NOT NULL,
    log_index       BIGINT  NOT NULL,
    address         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    run_id          BIGINT,
    agent_id        BIGINT,
    payload         JSONB   NOT NULL,
    PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX events_run_idx ON events (chain_id, run_id, block_number, log_index)
    WHERE run_id IS NOT NULL;
CREATE INDEX events_agent_idx ON events (chain_id, agent_id, block_number, log_index)
    WHERE agent_id IS NOT NULL;
CREATE INDEX events_block_idx ON events (chain_id, block_number, log_index);
CREATE INDEX events_kind_idx ON events (chain_id, kind, block_number, log_index);

-- Runs as the escrow holds them.
CREATE TABLE runs (
    chain_id        BIGINT         NOT NULL,
    run_id          BIGINT         NOT NULL,
    poster          TEXT           NOT NULL,
    spec_uri        TEXT           NOT NULL,
    reward          NUMERIC(78, 0) NOT NULL,
    fee             NUMERIC(78, 0) NOT NULL,
    deadline        BIGINT         NOT NULL,
    state           TEXT           NOT NULL,
    agent_id        BIGINT,
    agent_wallet    TEXT,
    deliverable_uri TEXT,
    revision_count  BIGINT         NOT NULL,
    max_revisions   BIGINT         NOT NULL,
    claim_timeout   BIGINT         NOT NULL,
    review_period   BIGINT         NOT NULL,
    funded          BOOLEAN        NOT NULL,
    claimed_at      BIGINT,
    submitted_at    BIGINT,
    timer_start     BIGINT,
    created_at      BIGINT         NOT NULL,
    updated_at      BIGINT         NOT NULL,
    created_block   BIGINT         NOT NULL,
    updated_block   BIGINT         NOT NULL,
    PRIMARY KEY (chain_id, run_id)
);
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
    chain_id         BIGINT         NOT NULL,
    agent_id         BIGINT         NOT NULL,
    wallet           TEXT           NOT NULL,
    metadata_uri     TEXT           NOT NULL,
    stake            NUMERIC(78, 0) NOT NULL,
    pending_unstake  NUMERIC(78, 0) NOT NULL,
    unstake_ready_at BIGINT,
    staked_since     BIGINT,
    frozen           BOOLEAN        NOT NULL,
    slashes          BIGINT         NOT NULL,
    claims           BIGINT         NOT NULL,
    completions      BIGINT         NOT NULL,
    active_claims    BIGINT         NOT NULL,
    volume           NUMERIC(78, 0) NOT NULL,
    last_status      TEXT           NOT NULL,
    registered_at    BIGINT         NOT NULL,
    updated_at       BIGINT         NOT NULL,
    registered_block BIGINT         NOT NULL,
    updated_block    BIGINT         NOT NULL,
    PRIMARY KEY (chain_id, agent_id),
    UNIQUE (chain_id, wallet)
);
CREATE INDEX agents_status_idx ON agents (chain_id, last_status, agent_id);
CREATE INDEX agents_stake_idx ON agents (chain_id, stake, agent_id);
CREATE INDEX agents_completions_idx ON agents (chain_id, completions, agent_id);

-- The parameters in force, folded from the parameter events.
CREATE TABLE chain_params (
    chain_id                BIGINT         PRIMARY KEY,
    fee_bps                 BIGINT         NOT NULL,
    claim_timeout           BIGINT         NOT NULL,
    review_period           BIGINT         NOT NULL,
    min_stake               NUMERIC(78, 0) NOT NULL,
    unstake_cooldown        BIGINT         NOT NULL,
    strikes_to_ban          BIGINT         NOT NULL,
    established_completions BIGINT         NOT NULL,
    established_age         BIGINT         NOT NULL,
    treasury                TEXT,
    paused                  BOOLEAN        NOT NULL
);

-- Credits owed after failed payouts.
CREATE TABLE credits (
    chain_id BIGINT         NOT NULL,
    account  TEXT           NOT NULL,
    amount   NUMERIC(78, 0) NOT NULL,
    PRIMARY KEY (chain_id, account)
);

-- The recent-block window used to detect reorgs.
CREATE TABLE blocks (
    chain_id    BIGINT NOT NULL,
    number      BIGINT NOT NULL,
    hash        TEXT   NOT NULL,
    parent_hash TEXT   NOT NULL,
    timestamp   BIGINT NOT NULL,
    PRIMARY KEY (chain_id, number)
);

-- The last fully indexed block.
CREATE TABLE checkpoint (
    chain_id    BIGINT PRIMARY KEY,
    number      BIGINT NOT NULL,
    hash        TEXT   NOT NULL,
    parent_hash TEXT   NOT NULL,
    timestamp   BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
