-- brr-pause, issue 5: what the pause limits need, in brr-pause's own schema.
--
-- pause.arrangements mirrors brr.arrangements.events.v1 (state, due day,
-- first due date, instalments paid), so the limits are checked without
-- reading another service's schema.  Each pause records the policy that
-- decided it, its effect, and for the gap between pauses how many
-- instalments were paid when it ended.  A refused request is kept too (its
-- id is the pause id), with the limit and the figures.
CREATE TABLE pause.arrangements (
  arrangement_id   uuid PRIMARY KEY,
  citizen_ref      uuid NOT NULL,
  state            text NOT NULL,
  due_day          int NOT NULL DEFAULT 1 CHECK (due_day BETWEEN 1 AND 31),
  first_due_date   date,
  paid_instalments int NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE pause.pauses
  ADD COLUMN started        boolean NOT NULL DEFAULT false,
  ADD COLUMN ran_until      date,     -- last day it ran, when cut short
  ADD COLUMN paid_at_end    int,      -- instalments paid when it ended
  ADD COLUMN effect         text,     -- EXTEND | RESPREAD
  ADD COLUMN policy_version text,
  ADD COLUMN refusal        jsonb,    -- {limit, allowed, asked, unit, detail}
  ADD COLUMN updated_at     timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT pauses_state
    CHECK (state IN ('SCHEDULED', 'RUNNING', 'ENDED', 'CANCELLED', 'REFUSED'));

-- The timers of a cancelled pause are deleted with it; keep the lookup cheap.
CREATE INDEX timers_pause ON pause.timers (pause_id);

-- brr-intake's read model of pauses: a refused request shows the limit and
-- the figures; every pause shows the effect the policy gives it.
ALTER TABLE intake.arrangement_pauses
  ADD COLUMN refusal jsonb,
  ADD COLUMN effect  text;

-- A request for an arrangement brr-pause has not seen yet (its event and
-- the request travel on different topics): held here and decided when the
-- arrangement's event arrives, or refused after a day.
CREATE TABLE pause.pending_requests (
  request_id     uuid PRIMARY KEY,
  arrangement_id uuid NOT NULL,
  payload        bytea NOT NULL,   -- the PauseRequest as received
  traceparent    text NOT NULL DEFAULT '',
  received_at    timestamptz NOT NULL  -- brr-pause's clock
);
CREATE INDEX pending_requests_arrangement
  ON pause.pending_requests (arrangement_id);

-- brr-distribution: an arrangement that starts paused (maatwerk below the
-- minimum instalment, DOMAIN §3) carries the date of its reassessment.
ALTER TABLE distribution.arrangements ADD COLUMN review_date date;
