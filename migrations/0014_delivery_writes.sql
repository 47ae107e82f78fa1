-- Less PostgreSQL work per delivery (issue 6, speed).
--
-- 1. The outbox of every schema loses its UNIQUE (event_id) index.  Every
--    event id is a fresh UUID (brr_outbox_add: a UUIDv7, 74 random bits per
--    millisecond; brrctl dlq replay: gen_random_uuid()); nothing reads an
--    outbox row by event id or relies on a conflict there.  The index cost
--    an entry, and a uniqueness probe, on every insert and again on the
--    relay's update that marks the row published (that update cannot be
--    heap-only: published_at is in outbox_unpublished's predicate).  Rows
--    stay identified by id, their primary key.  Measured on the outbox's
--    own statements: 41.7 -> 34.8 us of PostgreSQL CPU per row (insert,
--    relay select and update).  brr_messaging_tables() no longer creates it
--    for new schemas.
--
-- 2. connector.attempts, the delivery log: one index instead of two.  Its
--    rows are read per delivery (delivery_id, in the order of id), never by
--    id alone, so the primary key becomes (delivery_id, id) and serves both;
--    attempts_delivery goes.  One index entry less per attempt.
--
-- 3. No planner statistics for the opaque payload columns: the outboxes'
--    headers and payload, connector.deliveries.data.  No query filters or
--    joins on them, and they were a large part of the cost of every
--    ANALYZE that autovacuum runs as these tables grow by a delivery at a
--    time (CPU per ANALYZE: a connector.outbox of 342,000 rows 600 -> 370
--    ms, connector.deliveries 75 -> 30 ms).

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
      event_id      uuid NOT NULL,
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
    ALTER TABLE %I.outbox ALTER COLUMN headers SET STATISTICS 0,
      ALTER COLUMN payload SET STATISTICS 0$q$, s);
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

-- Every outbox made by brr_messaging_tables() so far.
DO $do$
DECLARE
  c record;
BEGIN
  FOR c IN
    SELECT n.nspname, k.conname
      FROM pg_constraint k
      JOIN pg_class t ON t.oid = k.conrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE t.relname = 'outbox' AND k.contype = 'u'
       AND k.conname = 'outbox_event_id_key'
  LOOP
    EXECUTE format('ALTER TABLE %I.outbox DROP CONSTRAINT %I',
                   c.nspname, c.conname);
  END LOOP;
  FOR c IN
    SELECT n.nspname
      FROM pg_class t
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE t.relname = 'outbox' AND t.relkind = 'r'
       AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid
                     AND a.attname = 'payload' AND NOT a.attisdropped)
  LOOP
    EXECUTE format('ALTER TABLE %I.outbox ALTER COLUMN headers SET '
                   'STATISTICS 0, ALTER COLUMN payload SET STATISTICS 0',
                   c.nspname);
  END LOOP;
END
$do$;

ALTER TABLE connector.attempts
  DROP CONSTRAINT attempts_pkey,
  ADD PRIMARY KEY (delivery_id, id);
DROP INDEX connector.attempts_delivery;

ALTER TABLE connector.deliveries ALTER COLUMN data SET STATISTICS 0;
