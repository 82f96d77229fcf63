-- Protocol v2 (SPEC §2): runs keep every term they were created with, their required stake, and
-- what happened to a rejection and a dispute; agents keep the stake their live claims reserve and
-- the v2 reputation counters; the parameters gain the dispute terms and the terms version.
-- `rejection` and `dispute` are JSON documents (TEXT): they are read whole, never filtered on.

ALTER TABLE runs
    ADD COLUMN required_stake NUMERIC(78, 0) NOT NULL DEFAULT 0,
    ADD COLUMN terms_version  BIGINT         NOT NULL DEFAULT 0,
    ADD COLUMN dispute_window BIGINT         NOT NULL DEFAULT 0,
    ADD COLUMN ruling_period  BIGINT         NOT NULL DEFAULT 0,
    ADD COLUMN arbitrator     TEXT           NOT NULL DEFAULT '0x0000000000000000000000000000000000000000',
    ADD COLUMN settled        BOOLEAN        NOT NULL DEFAULT FALSE,
    ADD COLUMN rejection      TEXT,
    ADD COLUMN dispute        TEXT;
CREATE INDEX runs_arbitrator_idx ON runs (chain_id, arbitrator, run_id) WHERE dispute IS NOT NULL;

ALTER TABLE agents RENAME COLUMN slashes TO strikes;
ALTER TABLE agents
    ADD COLUMN reserved      NUMERIC(78, 0) NOT NULL DEFAULT 0,
    ADD COLUMN rejections    BIGINT         NOT NULL DEFAULT 0,
    ADD COLUMN disputes_won  BIGINT         NOT NULL DEFAULT 0,
    ADD COLUMN disputes_lost BIGINT         NOT NULL DEFAULT 0,
    ADD COLUMN banned        BOOLEAN        NOT NULL DEFAULT FALSE;

ALTER TABLE chain_params
    ADD COLUMN terms_version  BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN dispute_window BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN ruling_period  BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN arbitrator     TEXT,
    ADD COLUMN staking_paused BOOLEAN NOT NULL DEFAULT FALSE;
