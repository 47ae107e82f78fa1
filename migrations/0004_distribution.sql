-- brr-distribution: arrangements, their claims and shares, and the full
-- history of every state change and event.
SELECT public.brr_messaging_tables('distribution');

CREATE TABLE distribution.arrangements (
  arrangement_id   uuid PRIMARY KEY,
  citizen_ref      uuid NOT NULL,
  state            text NOT NULL,
  kind             text NOT NULL,
  instalment_cents bigint NOT NULL,
  months           int NOT NULL,
  due_day          int NOT NULL,
  first_due_date   date,
  version          int NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- At most one live arrangement per citizen.
CREATE UNIQUE INDEX arrangements_one_live ON distribution.arrangements (citizen_ref)
  WHERE state IN ('ACTIEF', 'GEPAUZEERD', 'ACHTERSTAND');

CREATE TABLE distribution.claims (
  arrangement_id uuid NOT NULL REFERENCES distribution.arrangements,
  organisation   text NOT NULL,
  reference      text NOT NULL,
  open_cents     bigint NOT NULL CHECK (open_cents >= 0),
  due_date       date,
  share_cents    bigint NOT NULL DEFAULT 0 CHECK (share_cents >= 0),
  PRIMARY KEY (arrangement_id, organisation, reference)
);

CREATE TABLE distribution.history (
  id             bigserial PRIMARY KEY,
  arrangement_id uuid NOT NULL,
  event_id       uuid NOT NULL,
  event_type     text NOT NULL,
  state          text NOT NULL,
  detail         jsonb NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX history_arrangement ON distribution.history (arrangement_id, id);
