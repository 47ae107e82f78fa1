#!/usr/bin/env bash
# Integration: an organisation that is down (503) for a while and then back
# gets everything, in order per arrangement, each event once; meanwhile the
# other organisation of the same applications is served as if nothing
# happened, and the operator sees the backlog with brrctl deliveries.
#
# Usage: connector_down.sh   (stack env exported)
source "$(dirname -- "${BASH_SOURCE[0]}")/connector_lib.sh"
DOWN=DUO UP=CJIB
trap 'fault_clear "${DOWN}" || true' EXIT

fault_set "${DOWN}" '{"status":503,"count":1000000}'
arrs=()
for _ in 1 2 3 4 5 6; do
    app=$(submit "${DOWN}" "${UP}")
    arrs+=("$(arrangement_of "${app}")")
done
# Two more events for half of the arrangements: order per key matters.
for a in "${arrs[@]:0:3}"; do
    pause "${a}"
    pause "${a}"
done
in=$(sql_list "${arrs[@]}")
want=$((6 + 3 * 2))

wait_for 120 "${UP}'s events while ${DOWN} is down" all_received "${UP}" "${in}"
wait_for 120 "all of ${DOWN}'s events queued" queued "${DOWN}" "${want}" "${in}"
# Down for a while: every arrangement's head retried with backoff.
wait_for 180 "every ${DOWN} head tried three times" sql_true \
    "SELECT bool_and(d.attempts >= 3) FROM connector.deliveries d WHERE d.organisation = '${DOWN}' AND d.arrangement_id IN (${in}) AND d.sequence = 1"
check "${UP} was not held up: all its events arrived while ${DOWN} was down" \
    all_received "${UP}" "${in}"
check "${DOWN} received nothing while down" sql_true \
    "SELECT count(*) = 0 FROM orgsim.received WHERE org = '${DOWN}' AND arrangement_id IN (${in})"
check "no ${DOWN} arrangement has a later event sent before an earlier one" sql_true \
    "SELECT count(*) = 0 FROM connector.attempts a JOIN connector.deliveries d ON d.id = a.delivery_id WHERE d.organisation = '${DOWN}' AND d.arrangement_id IN (${in}) AND d.sequence > 1"
report=$("${BRRCTL}" deliveries --org "${DOWN}")
echo "${report}"
backlog=$(awk 'NR == 2 {print $3}' <<<"${report}")
oldest=$(awk 'NR == 2 {print $5}' <<<"${report}")
fails=$(awk 'NR == 2 {print $7}' <<<"${report}")
check "brrctl deliveries shows ${DOWN}'s backlog (${backlog})" test "${backlog}" -ge "${want}"
# OLDEST is "45s" or "12m03s" here; at least as old as this test's first event
age=$(psql_q "SELECT extract(epoch FROM now() - min(created_at))::int FROM connector.deliveries WHERE organisation = '${DOWN}' AND arrangement_id IN (${in})")
secs=-1
if [[ "${oldest}" =~ ^([0-9]+)m([0-9]+)s$ ]]; then
    secs=$((10#${BASH_REMATCH[1]} * 60 + 10#${BASH_REMATCH[2]}))
elif [[ "${oldest}" =~ ^([0-9]+)s$ ]]; then
    secs=${BASH_REMATCH[1]}
fi
check "brrctl deliveries shows the oldest undelivered event (${oldest}, ${age}s)" \
    test "${secs}" -ge $((age - 2))
check "brrctl deliveries shows consecutive failures (${fails})" test "${fails}" -ge 1
check "brrctl deliveries shows the last error" grep -q "HTTP 503" <<<"${report}"

say "${DOWN} is back"
fault_clear "${DOWN}"
wait_for 300 "${DOWN}'s backlog delivered" all_received "${DOWN}" "${in}"
check_order_and_once "${DOWN}" "${in}"
check_order_and_once "${UP}" "${in}"
check "no duplicates at ${DOWN} (no crash, nothing sent twice)" sql_true \
    "SELECT count(*) = 0 FROM orgsim.duplicates x JOIN connector.deliveries d ON d.event_id = x.event_id AND d.organisation = x.org WHERE x.org = '${DOWN}' AND d.arrangement_id IN (${in})"
check "every attempt is in the delivery log" sql_true \
    "SELECT bool_and(d.attempts = (SELECT count(*) FROM connector.attempts a WHERE a.delivery_id = d.id)) FROM connector.deliveries d WHERE d.organisation = '${DOWN}' AND d.arrangement_id IN (${in})"
check_payload "${DOWN}" "${in}"
"${BRRCTL}" deliveries --org "${DOWN}"
finish
