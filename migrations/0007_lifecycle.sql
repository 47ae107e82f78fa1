-- brr-distribution: the arrangement's whole life (issue 4).  The schedule
-- (termijnen) with each claim's share per instalment, the lifecycle state
-- (reminders), one durable timer per live arrangement, and the ids of the
-- organisations' reports already applied.
--
-- The schedule rolls: an instalment is stored when it opens (the day after
-- the previous one was due), split over the balances open at that moment,
-- so a claim paid off frees its part for the others.  The arrangement row
-- holds where the schedule stands (next_seq, next_due, open_on) and the
-- projected end date.

ALTER TABLE distribution.arrangements
  ADD COLUMN next_seq      int NOT NULL DEFAULT 1,   -- next instalment to open
  ADD COLUMN next_due      date,                     -- its due date
  ADD COLUMN open_on       date,                     -- the day it opens
  ADD COLUMN cur_seq       int NOT NULL DEFAULT 0,   -- latest instalment with money
  ADD COLUMN reminders     int NOT NULL DEFAULT 0,   -- in the current arrears
  ADD COLUMN last_reminder date,
  ADD COLUMN end_date      date,                     -- projected last due date
  ADD COLUMN ended_reason  text;

ALTER TABLE distribution.claims
  ADD COLUMN withdrawn  boolean NOT NULL DEFAULT false,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- One row per opened instalment.  amount_cents is the sum of its shares.
CREATE TABLE distribution.instalments (
  arrangement_id uuid NOT NULL REFERENCES distribution.arrangements,
  seq            int NOT NULL CHECK (seq >= 1),
  due_date       date NOT NULL,
  amount_cents   bigint NOT NULL DEFAULT 0 CHECK (amount_cents >= 0),
  paid_cents     bigint NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
  state          text NOT NULL CHECK (state IN ('OPEN', 'PAID', 'MISSED', 'PAUSED')),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (arrangement_id, seq)
);
CREATE INDEX instalments_unsettled ON distribution.instalments (arrangement_id)
  WHERE state IN ('OPEN', 'MISSED');

-- Each claim's share of an instalment and what its organisation reported
-- paid against it.  No foreign key: written only by brr-distribution in the
-- same transaction as its instalment, on the monthly run's hot path.
CREATE TABLE distribution.instalment_shares (
  arrangement_id uuid NOT NULL,
  seq            int NOT NULL,
  organisation   text NOT NULL,
  reference      text NOT NULL,
  share_cents    bigint NOT NULL CHECK (share_cents >= 0),
  paid_cents     bigint NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
  PRIMARY KEY (arrangement_id, seq, organisation, reference)
);

-- One timer per live arrangement: the next day its schedule or lifecycle
-- may move (an instalment opens, a grace period ends).  A firing claims due
-- rows with FOR UPDATE SKIP LOCKED, deletes them, applies the steps, writes
-- the events to the outbox and the next timer, in one transaction.
CREATE TABLE distribution.timers (
  arrangement_id uuid PRIMARY KEY REFERENCES distribution.arrangements,
  due_at         timestamptz NOT NULL
);
CREATE INDEX timers_due ON distribution.timers (due_at);

-- An organisation may send the same report twice: its id is applied once.
CREATE TABLE distribution.applied_reports (
  organisation   text NOT NULL,            -- '' for an operator (brrctl)
  report_id      text NOT NULL,
  arrangement_id uuid,
  kind           text NOT NULL,
  outcome        text NOT NULL CHECK (outcome IN ('APPLIED', 'REFUSED')),
  reason         text,
  applied_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation, report_id)
);

-- Arrangements created before this migration: their first instalment is
-- the split stored on the claims; the next opens the day after it is due.
INSERT INTO distribution.instalments (arrangement_id, seq, due_date,
                                      amount_cents, state)
SELECT a.arrangement_id, 1, a.first_due_date,
       coalesce((SELECT sum(c.share_cents) FROM distribution.claims c
                 WHERE c.arrangement_id = a.arrangement_id), 0),
       CASE WHEN a.state = 'GEPAUZEERD' THEN 'PAUSED' ELSE 'OPEN' END
FROM distribution.arrangements a
WHERE a.first_due_date IS NOT NULL
  AND a.state IN ('ACTIEF', 'GEPAUZEERD', 'ACHTERSTAND');

INSERT INTO distribution.instalment_shares (arrangement_id, seq, organisation,
                                            reference, share_cents)
SELECT c.arrangement_id, 1, c.organisation, c.reference, c.share_cents
FROM distribution.claims c
JOIN distribution.instalments i ON i.arrangement_id = c.arrangement_id
                               AND i.seq = 1 AND i.state = 'OPEN'
WHERE c.share_cents > 0;

UPDATE distribution.arrangements a
SET next_seq = 2,
    cur_seq = 1,
    open_on = a.first_due_date + 1,
    next_due = (date_trunc('month', a.first_due_date) + interval '1 month')::date
             + least(a.due_day,
                     extract(day FROM date_trunc('month', a.first_due_date)
                                    + interval '2 month - 1 day')::int) - 1
WHERE EXISTS (SELECT 1 FROM distribution.instalments i
              WHERE i.arrangement_id = a.arrangement_id);

INSERT INTO distribution.timers (arrangement_id, due_at)
SELECT arrangement_id, now() FROM distribution.instalments WHERE seq = 1;
