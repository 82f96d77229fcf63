-- The event feed (issue 11): every committed event gets a position `seq` that only grows per
-- chain, assigned in the transaction that stores it; a reorg appends one retraction per removed
-- event (same identity, newest first) with its own `seq`, and keeps the event's original
-- position as `added_seq`, so the feed is append-only: the events (`seq`), the removed events
-- where they were (`added_seq`), and the retractions (`seq`), ordered by position. Applying it
-- from 0 (add each event, remove on a retraction) gives exactly `events`. Each event also keeps
-- the poster of its run (`poster`), so a consumer following one poster's runs also gets the
-- retractions of a run a reorg removed.
ALTER TABLE events ADD COLUMN poster TEXT;
UPDATE events SET poster = (
    SELECT r.poster FROM runs r WHERE r.chain_id = events.chain_id AND r.run_id = events.run_id
);
ALTER TABLE events ADD COLUMN seq BIGINT;
UPDATE events AS e SET seq = s.rn
FROM (
    SELECT chain_id, tx_hash, log_index,
           ROW_NUMBER() OVER (PARTITION BY chain_id ORDER BY block_number, log_index) AS rn
    FROM events
) AS s
WHERE e.chain_id = s.chain_id AND e.tx_hash = s.tx_hash AND e.log_index = s.log_index;
ALTER TABLE events ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX events_seq_idx ON events (chain_id, seq);

CREATE TABLE retractions (
    chain_id        BIGINT  NOT NULL,
    seq             BIGINT  NOT NULL,
    added_seq       BIGINT  NOT NULL,
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
    poster          TEXT,
    PRIMARY KEY (chain_id, seq)
);
CREATE UNIQUE INDEX retractions_added_idx ON retractions (chain_id, added_seq);
