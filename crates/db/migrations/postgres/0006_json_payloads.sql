-- Event payloads are written and read whole, never queried inside (the read side decodes them in
-- Rust). As JSON they are kept as written: no parse into JSONB's binary form on every insert
-- (a quarter of a backfill's COPY, issue 14) and no conversion back to text on every read.
ALTER TABLE events ALTER COLUMN payload TYPE JSON USING payload::json;
ALTER TABLE retractions ALTER COLUMN payload TYPE JSON USING payload::json;
