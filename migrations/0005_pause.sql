-- brr-pause: pauses and their durable timers.
SELECT public.brr_messaging_tables('pause');

CREATE TABLE pause.pauses (
  pause_id       uuid PRIMARY KEY,
  arrangement_id uuid NOT NULL,
  citizen_ref    uuid NOT NULL,
  start_date     date NOT NULL,
  end_date       date NOT NULL,
  reason         text NOT NULL,
  channel        text NOT NULL,
  state          text NOT NULL,   -- SCHEDULED, RUNNING, ENDED, CANCELLED
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pauses_arrangement ON pause.pauses (arrangement_id);

-- A timer fires once: the firing transaction deletes the row and writes the
-- resulting event to the outbox, so a crash either does both or neither.
CREATE TABLE pause.timers (
  timer_id  bigserial PRIMARY KEY,
  pause_id  uuid NOT NULL REFERENCES pause.pauses,
  action    text NOT NULL,      -- start, end
  due_at    timestamptz NOT NULL,
  UNIQUE (pause_id, action)
);
CREATE INDEX timers_due ON pause.timers (due_at);
