-- brr-connector: the organisation registry, the durable delivery queue with
-- a sequence per (organisation, arrangement), and the delivery log.
SELECT public.brr_messaging_tables('connector');

CREATE TABLE connector.organisations (
  code          text PRIMARY KEY,
  name          text NOT NULL,
  oin           text NOT NULL,
  endpoint_url  text NOT NULL,
  client_cert   text NOT NULL,
  client_key    text NOT NULL,
  ca_bundle     text NOT NULL,
  bearer_token_ref text,
  signing_secret_ref text,
  concurrency   int NOT NULL DEFAULT 64,
  connect_timeout_ms int NOT NULL DEFAULT 5000,
  timeout_ms    int NOT NULL DEFAULT 15000,
  enabled       boolean NOT NULL DEFAULT true,
  disabled_reason text,
  joined_on     date NOT NULL DEFAULT current_date,
  left_on       date,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE connector.sequences (
  organisation   text NOT NULL,
  arrangement_id text NOT NULL,
  next_seq       bigint NOT NULL,
  PRIMARY KEY (organisation, arrangement_id)
);

CREATE TABLE connector.deliveries (
  id             bigserial PRIMARY KEY,
  event_id       uuid NOT NULL,
  organisation   text NOT NULL,
  arrangement_id text NOT NULL,
  citizen_ref    text NOT NULL,
  sequence       bigint NOT NULL,
  type           text NOT NULL,
  data           jsonb NOT NULL,
  event_time     timestamptz NOT NULL,
  submitted_at_ms bigint NOT NULL DEFAULT 0,
  status         text NOT NULL DEFAULT 'PENDING', -- PENDING, DELIVERED, PARKED
  attempts       int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_status    int,
  last_error     text,
  delivered_at   timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organisation, event_id),
  UNIQUE (organisation, arrangement_id, sequence)
);
CREATE INDEX deliveries_pending ON connector.deliveries (organisation, arrangement_id, sequence)
  WHERE status = 'PENDING';

CREATE TABLE connector.attempts (
  id          bigserial PRIMARY KEY,
  delivery_id bigint NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  http_status int NOT NULL,
  latency_us  bigint NOT NULL,
  error       text
);
CREATE INDEX attempts_delivery ON connector.attempts (delivery_id);
