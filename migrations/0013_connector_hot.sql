-- brr-connector: a delivery's outcome becomes a heap-only (HOT) update.
--
-- Every attempt updates its row in connector.deliveries (status, attempts,
-- last status and error, next attempt, delivered_at).  An update that
-- changes a column some index uses, as a key or in a partial index's WHERE,
-- writes a new entry into every index of the table, and deliveries has six.
-- With no index on status, and room left on each page for the new version,
-- the update stays on its page and writes no index entry at all.
--
-- deliveries_pending was no longer chosen by any query: the dispatcher
-- walks the unique (organisation, arrangement_id, sequence) index.
-- deliveries_undelivered served brrctl deliveries (oldest undelivered
-- event, the parked list); those now start from the keys with a backlog in
-- connector.sequences, through sequences_due for the pending ones and
-- sequences_parked for the parked ones, and walk each key's rows through
-- the unique index.
DROP INDEX connector.deliveries_pending;
DROP INDEX connector.deliveries_undelivered;

-- New pages are filled to 70%; the rest takes the updated versions.
ALTER TABLE connector.deliveries SET (fillfactor = 70);

-- Updates of sequences are not HOT anyway (due_at is a key of
-- sequences_due); a partial index only gets an entry for a row that
-- matches it, and a key with parked rows is rare.
CREATE INDEX sequences_parked ON connector.sequences (organisation)
  WHERE parked > 0;
