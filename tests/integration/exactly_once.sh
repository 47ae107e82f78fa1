#!/usr/bin/env bash
# Integration: an event written to one process's outbox is applied exactly
# once by a consumer in another process, on the real broker, although the
# consumer is killed with SIGKILL in the middle of batches and restarted,
# and although every tenth event is published twice.
#
# Usage: exactly_once.sh <it_producer> <it_consumer>   (stack env exported)
set -euo pipefail
producer=$1 consumer=$2
n=${IT_EVENTS:-20000}
log=${BRR_LOG_DIR:-/tmp}/it_consumer.log
psql_q() { psql "${BRR_PG_DSN}" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

psql_q "SET client_min_messages TO warning;
        DROP SCHEMA IF EXISTS it_src CASCADE; DROP SCHEMA IF EXISTS it_dst CASCADE;
        SELECT public.brr_messaging_tables('it_src');
        SELECT public.brr_messaging_tables('it_dst');
        CREATE TABLE it_dst.applied (event_id uuid PRIMARY KEY, n int NOT NULL);" >/dev/null

cpid=
start_consumer() {
    BRR_IT_DELAY_US=20000 BRR_BATCH_MAX=200 \
        BRR_ADMIN_PORT=$((8090 + ${BRR_STACK:-0} * 10)) \
        BRR_INSTANCE_ID=it-consumer-1 "${consumer}" >>"${log}" 2>&1 &
    cpid=$!
}
cleanup() { [[ -n "${cpid}" ]] && kill -KILL "${cpid}" 2>/dev/null || true; }
trap cleanup EXIT

start_consumer
"${producer}" "${n}"

# Kill the consumer three times while it works through the topic.
for round in 1 2 3; do
    for _ in $(seq 1 100); do
        done_n=$(psql_q "SELECT count(*) FROM it_dst.applied")
        ((done_n >= n * round / 4)) && break
        sleep 0.1
    done
    kill -KILL "${cpid}"
    wait "${cpid}" 2>/dev/null || true
    echo "killed the consumer after ${done_n} of ${n} events (round ${round})"
    start_consumer
done

for _ in $(seq 1 600); do
    done_n=$(psql_q "SELECT count(*) FROM it_dst.applied")
    ((done_n >= n)) && break
    sleep 0.2
done
sleep 2 # anything applied twice would show now
applied=$(psql_q "SELECT count(*) FROM it_dst.applied")
twice=$(psql_q "SELECT count(*) FROM it_dst.applied WHERE n <> 1")
echo "events ${n}, applied ${applied}, applied more than once ${twice}"
failed=0
if ((applied != n || twice != 0)); then
    echo "FAIL: expected every event applied exactly once" >&2
    tail -n 30 "${log}" >&2
    failed=1
fi

# A message that can never be applied (no ce_id) is dead-lettered and its
# key parked; the next event for that key waits in the dead letters too,
# and neither is applied.
key=parked-$$
printf 'garbage' | kcat -P -b "${BRR_KAFKA_BROKERS}" -t brr.it.events.v1 -k "${key}"
good=$(cat /proc/sys/kernel/random/uuid)
printf 'x' | kcat -P -b "${BRR_KAFKA_BROKERS}" -t brr.it.events.v1 -k "${key}" \
    -H "ce_id=${good}" -H ce_type=nl.rijksoverheid.brr.it.event
for _ in $(seq 1 300); do
    dl=$(psql_q "SELECT count(*) FROM it_dst.dead_letters WHERE key = '${key}'")
    ((dl >= 2)) && break
    sleep 0.1
done
codes=$(psql_q "SELECT string_agg(error_code, ',' ORDER BY id) FROM it_dst.dead_letters WHERE key = '${key}'")
parked=$(psql_q "SELECT count(*) FROM it_dst.parked_keys WHERE key = '${key}'")
applied_good=$(psql_q "SELECT count(*) FROM it_dst.applied WHERE event_id = '${good}'")
echo "dead letters for the poisoned key: ${codes}; parked ${parked}; applied ${applied_good}"
if [[ "${codes}" != "EDECODE,EPARKED" || "${parked}" != 1 || "${applied_good}" != 0 ]]; then
    echo "FAIL: expected EDECODE then EPARKED, the key parked, nothing applied" >&2
    failed=1
fi

# The operator discards the undecodable one and replays the parked one:
# it is applied once and the key is free again.
bad_id=$(psql_q "SELECT min(id) FROM it_dst.dead_letters WHERE key = '${key}'")
"${BRRCTL}" dlq discard it_dst "${bad_id}"
"${BRRCTL}" dlq replay it_dst --key "${key}"
for _ in $(seq 1 300); do
    applied_good=$(psql_q "SELECT count(*) FROM it_dst.applied WHERE event_id = '${good}'")
    ((applied_good >= 1)) && break
    sleep 0.1
done
parked=$(psql_q "SELECT count(*) FROM it_dst.parked_keys WHERE key = '${key}'")
echo "after discard and replay: applied ${applied_good}, parked ${parked}"
if [[ "${applied_good}" != 1 || "${parked}" != 0 ]]; then
    echo "FAIL: expected the replayed event applied once and the key free" >&2
    failed=1
fi
kill -TERM "${cpid}"
wait "${cpid}" 2>/dev/null || true
cpid=
if ((failed)); then
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
