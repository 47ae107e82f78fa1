-- brr-connector: the state of each (organisation, arrangement) queue, so
-- the dispatcher finds the due heads through one small index however large
-- the backlog of a failing organisation grows; the age of a delivery counted
-- from its first attempt; the traceparent to send; and each organisation's
-- delivery health for brrctl deliveries.

-- pending: PENDING rows of the key; parked: PARKED rows (the key waits for
-- brrctl replay while any); due_at: when its head may be tried next.
-- Consumer and dispatcher both update these counters on the row they
-- lock, so they never disagree with the rows.
ALTER TABLE connector.sequences
  ADD COLUMN pending int NOT NULL DEFAULT 0,
  ADD COLUMN parked  int NOT NULL DEFAULT 0,
  ADD COLUMN due_at  timestamptz NOT NULL DEFAULT now();

UPDATE connector.sequences s
SET pending = c.pending, parked = c.parked, due_at = coalesce(c.due, now())
FROM (SELECT organisation, arrangement_id,
             count(*) FILTER (WHERE status = 'PENDING') AS pending,
             count(*) FILTER (WHERE status = 'PARKED') AS parked,
             (array_agg(next_attempt_at ORDER BY sequence)
                FILTER (WHERE status = 'PENDING'))[1] AS due
      FROM connector.deliveries GROUP BY 1, 2) c
WHERE s.organisation = c.organisation AND s.arrangement_id = c.arrangement_id;

CREATE INDEX sequences_due ON connector.sequences (organisation, due_at)
  WHERE pending > 0 AND parked = 0;

ALTER TABLE connector.deliveries
  ADD COLUMN first_attempt_at timestamptz,
  ADD COLUMN traceparent text;

-- brrctl deliveries (oldest undelivered) and brrctl replay --since.
CREATE INDEX deliveries_undelivered ON connector.deliveries
  (organisation, created_at) WHERE status <> 'DELIVERED';
CREATE INDEX deliveries_org_time ON connector.deliveries
  (organisation, event_time);

CREATE TABLE connector.org_status (
  organisation         text PRIMARY KEY,
  last_success_at      timestamptz,
  last_error_at        timestamptz,
  last_status          int,
  last_error           text,
  consecutive_failures bigint NOT NULL DEFAULT 0,
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Each attempt's organisation, so the log reads without a join.
ALTER TABLE connector.attempts ADD COLUMN organisation text;
