#!/usr/bin/env bash
# Integration: an event that cannot be delivered within the maximum age is
# parked, and its arrangement's later events wait behind it (order per
# key); brrctl deliveries lists it; `brrctl replay EVENT` sends it and
# then the rest, in order; `brrctl replay --org --since --delivered` sends
# delivered events again with the same ids (the simulator counts them as
# duplicates, no order violation).
#
# The connector is restarted with BRR_CONNECTOR_MAX_AGE_S=60 (the
# smallest allowed) for the test, and restarted normally at the end.
#
# Usage: connector_park.sh   (stack env exported; uses scripts/stack)
source "$(dirname -- "${BASH_SOURCE[0]}")/connector_lib.sh"
ORG=CAK
pidf=${BRR_RUN_DIR}/connector.pid
restart_connector() { # restart_connector [VAR=VALUE...]
    local pid
    pid=$(cat "${pidf}")
    kill -TERM "${pid}" 2>/dev/null || true
    while kill -0 "${pid}" 2>/dev/null; do sleep 0.2; done
    env -u BRR_CONNECTOR_MAX_AGE_S "$@" "${BRR_REPO}/scripts/stack" start \
        >/dev/null 2>&1
}
trap 'fault_clear "${ORG}" || true; restart_connector || true' EXIT

restart_connector BRR_CONNECTOR_MAX_AGE_S=60
fault_set "${ORG}" '{"status":500,"count":1000000}'
since=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)
app=$(submit "${ORG}")
arr=$(arrangement_of "${app}")
pause "${arr}"
in=$(sql_list "${arr}")
wait_for 120 "both events queued" queued "${ORG}" 2 "${in}"
wait_for 240 "the first event parked after 60 s" sql_true \
    "SELECT status = 'PARKED' FROM connector.deliveries WHERE organisation = '${ORG}' AND arrangement_id = '${arr}' AND sequence = 1"
eid=$(psql_q "SELECT event_id FROM connector.deliveries WHERE organisation = '${ORG}' AND arrangement_id = '${arr}' AND sequence = 1")
check "the later event waits behind the parked one, never tried" sql_true \
    "SELECT status = 'PENDING' AND attempts = 0 FROM connector.deliveries WHERE organisation = '${ORG}' AND arrangement_id = '${arr}' AND sequence = 2"
check "the parked event is listed for replay" \
    grep -q "${eid}" <<<"$("${BRRCTL}" deliveries --parked --org "${ORG}")"
check "brrctl deliveries counts it as parked" test \
    "$("${BRRCTL}" deliveries --org "${ORG}" | awk 'NR == 2 {print $4}')" -ge 1

say "the organisation is back; parked stays parked until replayed"
fault_clear "${ORG}"
sleep 6
check "nothing sent for the parked arrangement" sql_true \
    "SELECT count(*) = 0 FROM orgsim.received WHERE org = '${ORG}' AND arrangement_id = '${arr}'"
"${BRRCTL}" replay "${eid}" --org "${ORG}"
wait_for 120 "the replayed event and its successor delivered" \
    all_received "${ORG}" "${in}"
check_order_and_once "${ORG}" "${in}"

say "replaying what was delivered, on request"
set +e
"${BRRCTL}" replay --org "${ORG}" --since "${since}" >/dev/null 2>&1
rc_nothing=$?
"${BRRCTL}" replay "${eid}" --org "${ORG}" --delivered
rc=$?
"${BRRCTL}" replay not-a-uuid >/dev/null 2>&1
rc_usage=$?
set -e
check "replay without --delivered finds nothing to do (exit 1)" test "${rc_nothing}" -eq 1
check "replay --delivered re-queues it (exit 0)" test "${rc}" -eq 0
check "a malformed event id is a usage error (exit 2)" test "${rc_usage}" -eq 2
wait_for 120 "the replayed delivered event sent again" sql_true \
    "SELECT n = 1 FROM orgsim.duplicates WHERE org = '${ORG}' AND event_id = '${eid}'"
wait_for 60 "the replay recorded as delivered" all_received "${ORG}" "${in}"
check "no order violation from the replay" sql_true \
    "SELECT count(*) = 0 FROM orgsim.order_violations WHERE org = '${ORG}' AND arrangement_id = '${arr}'"
check "the key's counters are back to zero" sql_true \
    "SELECT pending = 0 AND parked = 0 FROM connector.sequences WHERE organisation = '${ORG}' AND arrangement_id = '${arr}'"
finish
