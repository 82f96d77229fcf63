-- Protocol v2 (SPEC §2): runs keep every term they were created with, their required stake, and
-- what happened to a rejection and a dispute; agents keep the stake their live claims reserve and
-- the v2 reputation counters; the parameters gain the dispute terms and the terms version.
-- `rejection` and `dispute` are JSON documents: they are read whole, never filtered on.
-- Amounts are 78-digit zero-padded text, as in 0001.

ALTER TABLE runs ADD COLUMN required_stake TEXT    NOT NULL DEFAULT '000000000000000000000000000000000000000000000000000000000000000000000000000000';
ALTER TABLE runs ADD COLUMN terms_version  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN dispute_window INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN ruling_period  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN arbitrator     TEXT    NOT NULL DEFAULT '0x0000000000000000000000000000000000000000';
ALTER TABLE runs ADD COLUMN settled        INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN rejection      TEXT;
ALTER TABLE runs ADD COLUMN dispute        TEXT;
CREATE INDEX runs_arbitrator_idx ON runs (chain_id, arbitrator, run_id) WHERE dispute IS NOT NULL;

ALTER TABLE agents RENAME COLUMN slashes TO strikes;
ALTER TABLE agents ADD COLUMN reserved      TEXT    NOT NULL DEFAULT '000000000000000000000000000000000000000000000000000000000000000000000000000000';
ALTER TABLE agents ADD COLUMN rejections    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN disputes_won  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN disputes_lost INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN banned        INTEGER NOT NULL DEFAULT 0;

ALTER TABLE chain_params ADD COLUMN terms_version  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chain_params ADD COLUMN dispute_window INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chain_params ADD COLUMN ruling_period  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chain_params ADD COLUMN arbitrator     TEXT;
ALTER TABLE chain_params ADD COLUMN staking_paused INTEGER NOT NULL DEFAULT 0;
