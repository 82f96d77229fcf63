-- Secondary indexes set aside during an initial backfill (issue 14): a sorted build of each index
-- once the indexer nears the head costs far less than updating it row by row for every range.
-- Each row is an index of `events`, `runs` or `agents` that was dropped, with the statement that
-- recreates it exactly; dropping and recording happen in one transaction, and so do rebuilding
-- and forgetting, so a crash leaves every index either in place or listed here. Primary keys and
-- unique indexes are never set aside: they are what makes each event stored once.
CREATE TABLE deferred_indexes (
    name       TEXT NOT NULL PRIMARY KEY,
    definition TEXT NOT NULL
);
