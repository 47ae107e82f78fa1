-- deploy/pgbench/intake_writes.sql: the durable writes brr-intake makes for
-- one accepted application, as one pgbench transaction, so scripts/bench can
-- set the pipeline's rate beside what PostgreSQL alone manages.
--
-- Per application: a citizen (pseudonym, encrypted BSN), the application
-- (its body without the BSN), the idempotency key with the stored answer,
-- and the outbox row (a protobuf-sized payload).  scripts/bench creates the
-- tables in schema brr_bench as copies of intake's (same columns, keys and
-- indexes; the outbox from brr_messaging_tables) so nothing reaches the
-- real outbox, and drops the schema afterwards.
--
-- Run: pgbench -n -M prepared -c 64 -j 2 -T 15 -f intake_writes.sql DSN
\set claim1 random(2500, 480000)
\set claim2 random(2500, 480000)
BEGIN;
INSERT INTO brr_bench.citizens (citizen_ref, pseudonym, bsn_enc, bsn_key_id)
VALUES (gen_random_uuid(), sha256(random()::text::bytea),
        sha256(random()::text::bytea)
          || substr(sha256(random()::text::bytea), 1, 5), 'k1')
RETURNING citizen_ref \gset
INSERT INTO brr_bench.applications (application_id, citizen_ref, channel,
                                    kind, body)
VALUES (gen_random_uuid(), :citizen_ref::uuid, 'CJIB', 'standard',
        jsonb_build_object(
          'kind', 'standard', 'due_day', 1, 'reference_date', '2026-01-01',
          'requested_instalment_cents', 0,
          'claims', jsonb_build_array(
            jsonb_build_object('organisation', 'CJIB',
              'reference', 'CJIB-' || md5(random()::text),
              'open_cents', :claim1::bigint, 'under_objection', false),
            jsonb_build_object('organisation', 'DUO',
              'reference', 'DUO-' || md5(random()::text),
              'open_cents', :claim2::bigint, 'under_objection', false))))
RETURNING application_id \gset
INSERT INTO brr_bench.idempotency_keys (channel, key, request_hash, status,
                                        response)
VALUES ('CJIB', 'pgb-' || gen_random_uuid(), sha256(random()::text::bytea),
        202, jsonb_build_object('application_id', :application_id::text,
                                'status', 'ONTVANGEN'));
INSERT INTO brr_bench.outbox (event_id, aggregatetype, aggregateid, type,
                              topic, key, headers, payload)
VALUES (gen_random_uuid(), 'application', :application_id::text,
        'application.submitted', 'brr.intake.applications.v1',
        :citizen_ref::text,
        jsonb_build_object(
          'ce_id', gen_random_uuid(), 'ce_time', now(),
          'ce_type', 'nl.rijksoverheid.brr.application.submitted',
          'ce_source', '/brr/intake', 'ce_subject', :application_id::text,
          'content-type', 'application/protobuf', 'ce_specversion', '1.0'),
        sha512(random()::text::bytea) || sha512(random()::text::bytea)
          || sha512(random()::text::bytea));
COMMIT;
