#!/usr/bin/env bash
# Integration: an organisation answering 410 Gone is disabled: the registry
# says why, nothing more is sent to it, its events wait; after
# `brrctl org enable` everything arrives, in order, each event once.
#
# Usage: connector_gone.sh   (stack env exported)
source "$(dirname -- "${BASH_SOURCE[0]}")/connector_lib.sh"
ORG=RVO
attempts_at() {
    psql_q "SELECT count(*) FROM connector.attempts a JOIN connector.deliveries d ON d.id = a.delivery_id WHERE d.organisation = '${ORG}' AND d.arrangement_id IN ($1)"
}
trap 'fault_clear "${ORG}" || true; "${BRRCTL}" org enable "${ORG}" || true' EXIT

"${BRRCTL}" org enable "${ORG}"
fault_set "${ORG}" '{"status":410}'
app=$(submit "${ORG}")
arrs=("$(arrangement_of "${app}")")
wait_for 120 "${ORG} disabled by the 410" sql_true \
    "SELECT NOT enabled AND disabled_reason LIKE '410%' FROM connector.organisations WHERE code = '${ORG}'"
check "brrctl org list shows ${ORG} disabled by the 410" \
    grep -q "^${ORG} .* no .*disabled: 410" <<<"$("${BRRCTL}" org list)"
check "brrctl deliveries shows ${ORG} disabled" \
    grep -q "disabled: 410" <<<"$("${BRRCTL}" deliveries --org "${ORG}")"

# More events while disabled: queued, never sent.
for _ in 1 2; do
    app=$(submit "${ORG}")
    arrs+=("$(arrangement_of "${app}")")
done
pause "${arrs[1]}"
in=$(sql_list "${arrs[@]}")
wait_for 120 "the new events queued" queued "${ORG}" 4 "${in}"
before=$(attempts_at "${in}")
# Longer than a registry refresh (5 s) and many dispatch ticks.
sleep 8
after=$(attempts_at "${in}")
say "attempts while disabled: ${before} then ${after}"
check "nothing was sent to the disabled ${ORG}" test "${before}" -eq "${after}"
check "nothing reached ${ORG} while disabled" sql_true \
    "SELECT count(*) = 0 FROM orgsim.received WHERE org = '${ORG}' AND arrangement_id IN (${in})"

say "the organisation is back; the operator enables it"
fault_clear "${ORG}"
"${BRRCTL}" org enable "${ORG}"
wait_for 120 "${ORG}'s events delivered after enable" all_received "${ORG}" "${in}"
check_order_and_once "${ORG}" "${in}"
check "the 410 is in the delivery log" sql_true \
    "SELECT count(*) >= 1 FROM connector.attempts a JOIN connector.deliveries d ON d.id = a.delivery_id WHERE d.organisation = '${ORG}' AND d.arrangement_id IN (${in}) AND a.http_status = 410"
finish
