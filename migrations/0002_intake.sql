-- brr-intake: applications, citizens (pseudonym + encrypted BSN), idempotency
-- keys and the status read model.  The only schema that holds a BSN, and
-- only encrypted.
SELECT public.brr_messaging_tables('intake');

CREATE TABLE intake.citizens (
  citizen_ref  uuid PRIMARY KEY,
  pseudonym    bytea NOT NULL UNIQUE,   -- HMAC-SHA256(key, BSN)
  bsn_enc      bytea NOT NULL,          -- AES-256-GCM: iv | ciphertext | tag
  bsn_key_id   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE intake.applications (
  application_id uuid PRIMARY KEY,
  citizen_ref    uuid NOT NULL REFERENCES intake.citizens,
  channel        text NOT NULL,
  kind           text NOT NULL,
  body           jsonb NOT NULL,        -- the validated request minus the BSN
  status         text NOT NULL DEFAULT 'ONTVANGEN',
  arrangement_id uuid,
  reasons        jsonb NOT NULL DEFAULT '[]',
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applications_citizen ON intake.applications (citizen_ref);

CREATE TABLE intake.idempotency_keys (
  channel        text NOT NULL,
  key            text NOT NULL,
  request_hash   bytea NOT NULL,
  status         int NOT NULL,
  response       jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, key)
);

CREATE TABLE intake.arrangements_view (
  arrangement_id uuid PRIMARY KEY,
  citizen_ref    uuid NOT NULL,
  state          text NOT NULL,
  body           jsonb NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
