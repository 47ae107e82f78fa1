#!/usr/bin/env bash
# Integration: a client certificate the organisation does not trust (signed
# by another CA) is refused in the TLS handshake: the attempts fail with a
# TLS error in the delivery log, the events stay pending and nothing is
# received.  With the right certificate back they arrive, in order.
#
# Usage: connector_wrong_cert.sh   (stack env exported)
source "$(dirname -- "${BASH_SOURCE[0]}")/connector_lib.sh"
ORG=SVB P=${BRR_PKI_DIR}
restore() {
    "${BRRCTL}" org update "${ORG}" --cert "${P}/connector.crt" \
        --key "${P}/connector.key"
}
trap 'restore || true' EXIT

"${BRRCTL}" org update "${ORG}" --cert "${P}/rogue.crt" --key "${P}/rogue.key"
# The connector re-reads the registry every 5 s; submit after that.
sleep 7
arrs=()
for _ in 1 2; do
    app=$(submit "${ORG}")
    arrs+=("$(arrangement_of "${app}")")
done
pause "${arrs[0]}"
in=$(sql_list "${arrs[@]}")
wait_for 120 "failed attempts with the rogue certificate" sql_true \
    "SELECT bool_and(d.attempts >= 2) FROM connector.deliveries d WHERE d.organisation = '${ORG}' AND d.arrangement_id IN (${in}) AND d.sequence = 1"
psql_q "SELECT DISTINCT a.http_status, a.error FROM connector.attempts a JOIN connector.deliveries d ON d.id = a.delivery_id WHERE d.organisation = '${ORG}' AND d.arrangement_id IN (${in})"
check "every attempt failed below HTTP, with an error" sql_true \
    "SELECT bool_and(a.http_status = 0 AND a.error IS NOT NULL) FROM connector.attempts a JOIN connector.deliveries d ON d.id = a.delivery_id WHERE d.organisation = '${ORG}' AND d.arrangement_id IN (${in})"
check "the events stay pending" sql_true \
    "SELECT bool_and(status = 'PENDING') FROM connector.deliveries WHERE organisation = '${ORG}' AND arrangement_id IN (${in})"
check "nothing reached ${ORG}" sql_true \
    "SELECT count(*) = 0 FROM orgsim.received WHERE org = '${ORG}' AND arrangement_id IN (${in})"

say "the operator puts the right certificate back"
restore
wait_for 120 "${ORG}'s events delivered" all_received "${ORG}" "${in}"
check_order_and_once "${ORG}" "${in}"
finish
