#!/usr/bin/env bash
# Integration: a delivery signed with a secret the organisation does not
# hold is detected by the simulator: it answers 401, counts the rejection
# in orgsim.rejected and records nothing as received; the event stays
# pending.  With the right secret back it arrives.  While a secret is
# rotated ("file:new file:old": two signatures) the organisation, holding
# the old one, still accepts every delivery.
#
# Usage: connector_bad_signature.sh   (stack env exported)
source "$(dirname -- "${BASH_SOURCE[0]}")/connector_lib.sh"
ORG=UWV P=${BRR_PKI_DIR}
tmp=$(mktemp -d)
restore() {
    "${BRRCTL}" org update "${ORG}" --secret-ref "file:${P}/orgsim.secret"
}
trap 'restore || true; rm -rf "${tmp}"' EXIT
echo "whsec_$(head -c 32 /dev/urandom | base64)" >"${tmp}/other.secret"
rejected() {
    psql_q "SELECT coalesce(sum(n), 0) FROM orgsim.rejected WHERE org = '${ORG}' AND reason = 'signature'"
}

"${BRRCTL}" org update "${ORG}" --secret-ref "file:${tmp}/other.secret"
sleep 7 # the connector re-reads the registry every 5 s
r0=$(rejected)
app=$(submit "${ORG}")
arrs=("$(arrangement_of "${app}")")
in=$(sql_list "${arrs[@]}")
wait_for 120 "401 answers in the delivery log" sql_true \
    "SELECT count(*) >= 2 FROM connector.attempts a JOIN connector.deliveries d ON d.id = a.delivery_id WHERE d.organisation = '${ORG}' AND d.arrangement_id IN (${in}) AND a.http_status = 401"
r1=$(rejected)
say "signature rejections at the simulator: ${r0} then ${r1}"
check "the simulator counted the bad signatures" test "${r1}" -ge $((r0 + 2))
check "nothing was recorded as received" sql_true \
    "SELECT count(*) = 0 FROM orgsim.received WHERE org = '${ORG}' AND arrangement_id IN (${in})"
check "the event stays pending" sql_true \
    "SELECT bool_and(status = 'PENDING') FROM connector.deliveries WHERE organisation = '${ORG}' AND arrangement_id IN (${in})"

say "the right secret back"
restore
wait_for 120 "${ORG}'s event delivered" all_received "${ORG}" "${in}"

say "rotation: the new secret first, the organisation still on the old one"
"${BRRCTL}" org update "${ORG}" \
    --secret-ref "file:${tmp}/other.secret file:${P}/orgsim.secret"
sleep 7
r2=$(rejected)
app=$(submit "${ORG}")
arrs+=("$(arrangement_of "${app}")")
in=$(sql_list "${arrs[@]}")
wait_for 120 "delivery during the rotation" all_received "${ORG}" "${in}"
check "no rejection during the rotation" test "$(rejected)" -eq "${r2}"
check_order_and_once "${ORG}" "${in}"
finish
