-- brr-intake, issue 7: sealed contact details and refund account per
-- application, and the citizen's arrangement as a read model fed by
-- brr.arrangements.events.v1 and brr.pause.events.v1 (terms per
-- organisation, schedule, pauses, history).

-- Contact details and refund IBAN: AES-256-GCM (iv | ciphertext | tag) of
-- one JSON object under the key named in personal_key_id, with the
-- application id as associated data.  NULL when the application has none.
ALTER TABLE intake.applications
  ADD COLUMN personal_enc    bytea,
  ADD COLUMN personal_key_id text,
  ADD CONSTRAINT applications_personal_key
    CHECK ((personal_enc IS NULL) = (personal_key_id IS NULL));
CREATE INDEX applications_arrangement ON intake.applications (arrangement_id)
  WHERE arrangement_id IS NOT NULL;

-- The latest ArrangementEvent's terms: instalment, months, first due date,
-- shares per organisation with their claims, reasons.
ALTER TABLE intake.arrangements_view
  ADD COLUMN version bigint NOT NULL DEFAULT 1;

CREATE TABLE intake.arrangement_pauses (
  pause_id       text PRIMARY KEY,
  arrangement_id uuid NOT NULL,
  state          text NOT NULL,   -- scheduled, started, ended, cancelled
  start_date     text,
  end_date       text,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX arrangement_pauses_arrangement
  ON intake.arrangement_pauses (arrangement_id);

-- Every arrangement and pause event, in the order consumed.
CREATE TABLE intake.arrangement_history (
  id             bigserial PRIMARY KEY,
  arrangement_id uuid NOT NULL,
  source         text NOT NULL,   -- arrangement | pause
  event_type     text NOT NULL,
  state          text,
  detail         jsonb NOT NULL DEFAULT '{}',
  at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX arrangement_history_arrangement
  ON intake.arrangement_history (arrangement_id, id);
