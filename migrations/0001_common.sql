-- Shared building blocks: every service schema gets the same inbox, outbox
-- and parking tables through brr_messaging_tables(schema), so the relay and
-- the consumer runtime in services/common work on any of them.
--
-- outbox follows Debezium's layout (id, aggregatetype, aggregateid, type,
-- payload) plus topic, key, headers, created_at, published_at.  The relay
-- publishes unpublished rows in id order and marks them from the delivery
-- reports; published rows are purged after a retention period.

CREATE OR REPLACE FUNCTION public.brr_messaging_tables(s text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', s);
  EXECUTE format($q$
    CREATE TABLE IF NOT EXISTS %I.inbox (
      event_id    uuid PRIMARY KEY,
      topic       text NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    )$q$, s);
  EXECUTE format($q$
    CREATE TABLE IF NOT EXISTS %I.outbox (
      id            bigserial PRIMARY KEY,
      event_id      uuid NOT NULL UNIQUE,
      aggregatetype text NOT NULL,
      aggregateid   text NOT NULL,
      type          text NOT NULL,
      topic         text NOT NULL,
      key           text NOT NULL,
      headers       jsonb NOT NULL DEFAULT '{}',
      payload       bytea NOT NULL,
      created_at    timestamptz NOT NULL DEFAULT now(),
      published_at  timestamptz
    )$q$, s);
  EXECUTE format($q$
    CREATE INDEX IF NOT EXISTS outbox_unpublished
      ON %I.outbox (id) WHERE published_at IS NULL$q$, s);
  -- A key whose message could never be applied: later messages for the
  -- same key wait here (in order) until an operator replays or discards.
  EXECUTE format($q$
    CREATE TABLE IF NOT EXISTS %I.parked_keys (
      topic     text NOT NULL,
      key       text NOT NULL,
      parked_at timestamptz NOT NULL DEFAULT now(),
      reason    text NOT NULL,
      PRIMARY KEY (topic, key)
    )$q$, s);
  EXECUTE format($q$
    CREATE TABLE IF NOT EXISTS %I.dead_letters (
      id          bigserial PRIMARY KEY,
      event_id    uuid,
      topic       text NOT NULL,
      partition   int NOT NULL,
      "offset"    bigint NOT NULL,
      key         text NOT NULL,
      headers     jsonb NOT NULL DEFAULT '{}',
      payload     bytea,
      error_code  text NOT NULL,
      error_text  text NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      resolved_at timestamptz,
      resolution  text
    )$q$, s);
END
$fn$;
