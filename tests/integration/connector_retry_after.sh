#!/usr/bin/env bash
# Integration: an organisation answering 429 with Retry-After is not asked
# again before that time: in the delivery log, the attempt after a 429 of
# the same delivery comes at least Retry-After seconds later.  Then
# everything arrives, in order.
#
# Usage: connector_retry_after.sh   (stack env exported)
source "$(dirname -- "${BASH_SOURCE[0]}")/connector_lib.sh"
ORG=CAK RA=3
trap 'fault_clear "${ORG}" || true' EXIT

fault_set "${ORG}" "{\"status\":429,\"retry_after\":${RA},\"count\":4}"
arrs=()
for _ in 1 2; do
    app=$(submit "${ORG}")
    arrs+=("$(arrangement_of "${app}")")
done
pause "${arrs[0]}"
in=$(sql_list "${arrs[@]}")

wait_for 180 "${ORG}'s events delivered" all_received "${ORG}" "${in}"
log=$(psql_q "SELECT d.sequence, a.http_status, to_char(a.at, 'HH24:MI:SS.MS') FROM connector.attempts a JOIN connector.deliveries d ON d.id = a.delivery_id WHERE d.organisation = '${ORG}' AND d.arrangement_id IN (${in}) ORDER BY a.at")
echo "${log}"
check "the simulator's 429s reached the delivery log" sql_true \
    "SELECT count(*) >= 1 FROM connector.attempts a JOIN connector.deliveries d ON d.id = a.delivery_id WHERE d.organisation = '${ORG}' AND d.arrangement_id IN (${in}) AND a.http_status = 429"
# Each attempt that follows a 429 of the same delivery, and the gap.  The
# next attempt is scheduled from the 429's answer, so the gap between the
# two answers is at least Retry-After (less 0.1 s for rounding to ms).
gaps=$(psql_q "SELECT round(extract(epoch FROM a.at - p.at)::numeric, 3) FROM connector.attempts a JOIN connector.attempts p ON p.delivery_id = a.delivery_id AND p.id = (SELECT max(id) FROM connector.attempts q WHERE q.delivery_id = a.delivery_id AND q.id < a.id) JOIN connector.deliveries d ON d.id = a.delivery_id WHERE d.organisation = '${ORG}' AND d.arrangement_id IN (${in}) AND p.http_status = 429")
say "gaps after a 429: $(echo ${gaps})"
check "an attempt followed at least one 429" test -n "${gaps}"
check "no attempt came sooner than Retry-After (${RA}s) after a 429" sql_true \
    "SELECT count(*) = 0 FROM connector.attempts a JOIN connector.attempts p ON p.delivery_id = a.delivery_id AND p.id = (SELECT max(id) FROM connector.attempts q WHERE q.delivery_id = a.delivery_id AND q.id < a.id) JOIN connector.deliveries d ON d.id = a.delivery_id WHERE d.organisation = '${ORG}' AND d.arrangement_id IN (${in}) AND p.http_status = 429 AND a.at < p.at + interval '${RA} seconds' - interval '100 milliseconds'"
check_order_and_once "${ORG}" "${in}"
finish
