#!/usr/bin/env bash
# Integration: brr-connector killed with SIGKILL in the middle of
# deliveries and started again: nothing is lost, nothing is out of order,
# and exactly the events that were in flight (received by the organisation,
# not yet recorded as delivered) are sent once more, which the simulator
# counts as duplicates.
#
# Usage: connector_kill.sh   (stack env exported; uses scripts/stack)
source "$(dirname -- "${BASH_SOURCE[0]}")/connector_lib.sh"
SLOW=TOESLAGEN FAST=BELASTINGDIENST
pidf=${BRR_RUN_DIR}/connector.pid
trap 'fault_clear "${SLOW}" || true
      "${BRRCTL}" org update "${SLOW}" --timeout-ms 15000 || true' EXIT

# Queue a backlog while the organisation is down...
fault_set "${SLOW}" '{"status":503,"count":1000000}'
arrs=()
for _ in $(seq 1 12); do
    app=$(submit "${SLOW}" "${FAST}")
    arrs+=("$(arrangement_of "${app}")")
done
for a in "${arrs[@]:0:4}"; do pause "${a}"; done
in=$(sql_list "${arrs[@]}")
wait_for 120 "all events queued" queued "${SLOW}" 16 "${in}"

# ...then let it answer slowly (it records each event at once and answers
# 5 s later) and have the connector retry now: every head is in flight.
fault_set "${SLOW}" '{"delay_ms":5000,"count":1000000}'
"${BRRCTL}" org update "${SLOW}" --timeout-ms 30000
wait_for 120 "the first deliveries at ${SLOW}" sql_true \
    "SELECT count(*) >= 4 FROM orgsim.received WHERE org = '${SLOW}' AND arrangement_id IN (${in})"

pid=$(cat "${pidf}")
kill -KILL "${pid}"
while kill -0 "${pid}" 2>/dev/null; do sleep 0.1; done
fault_clear "${SLOW}"
# In flight at the kill: received by the organisation, pending here.
flight="SELECT d.organisation || '/' || d.event_id FROM connector.deliveries d JOIN orgsim.received r ON r.org = d.organisation AND r.event_id = d.event_id WHERE d.organisation IN ('${SLOW}', '${FAST}') AND d.arrangement_id IN (${in}) AND d.status = 'PENDING'"
inflight=$(psql_q "SELECT count(*) FROM (${flight}) f")
inflight_ids=$(psql_q "SELECT string_agg(quote_literal(k), ',') FROM (${flight}) f(k)")
say "killed brr-connector (pid ${pid}) with ${inflight} deliveries to ${SLOW} in flight"
check "the kill came in the middle of deliveries" test "${inflight}" -ge 1
"${BRR_REPO}/scripts/stack" start >/dev/null 2>&1 || fail "scripts/stack start failed"
say "restarted: pid $(cat "${pidf}")"

wait_for 180 "${SLOW}'s events delivered" all_received "${SLOW}" "${in}"
wait_for 180 "${FAST}'s events delivered" all_received "${FAST}" "${in}"
check_order_and_once "${SLOW}" "${in}"
check_order_and_once "${FAST}" "${in}"
say "$(psql_q "SELECT coalesce(sum(x.n), 0) || ' duplicate(s)' FROM orgsim.duplicates x JOIN connector.deliveries d ON d.event_id = x.event_id AND d.organisation = x.org WHERE d.arrangement_id IN (${in})")"
dup="SELECT x.org || '/' || x.event_id AS k, x.n FROM orgsim.duplicates x JOIN connector.deliveries d ON d.event_id = x.event_id AND d.organisation = x.org WHERE d.arrangement_id IN (${in})"
check "each event in flight at the kill came exactly once more" sql_true \
    "SELECT count(*) = ${inflight} AND coalesce(bool_and(n = 1), true) FROM (${dup}) y WHERE k IN (${inflight_ids:-''})"
check "no other event came twice" sql_true \
    "SELECT count(*) = 0 FROM (${dup}) y WHERE k NOT IN (${inflight_ids:-''})"
finish
