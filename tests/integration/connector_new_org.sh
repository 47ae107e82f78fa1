#!/usr/bin/env bash
# Integration: an organisation added while the stack runs (brrctl org add,
# brrctl topics) receives its events without a rebuild or a restart: intake
# accepts claims at it once it re-reads the registry, distribution writes
# its topic, brr-connector subscribes to it on the next metadata refresh and
# delivers on its next registry refresh.
#
# Usage: connector_new_org.sh   (stack env exported)
source "$(dirname -- "${BASH_SOURCE[0]}")/connector_lib.sh"
ORG=NEWORG P=${BRR_PKI_DIR}
pids_before=$(cat "${BRR_RUN_DIR}"/{intake,distribution,connector}.pid)

# A clean slate on a stack that ran this test before: the organisation
# leaves the registry first, as if it had never joined.
psql_q "DELETE FROM connector.organisations WHERE code = '${ORG}'"
"${BRRCTL}" org add "${ORG}" --name "Nieuwe organisatie" \
    --oin 00000099000000000099 \
    --url "https://${BRR_ORGSIM_LISTEN}/orgs/${ORG}/events" \
    --cert "${P}/connector.crt" --key "${P}/connector.key" --ca "${P}/ca.crt" \
    --secret-ref "file:${P}/orgsim.secret"
"${BRRCTL}" topics >/dev/null

# intake re-reads the registry every 30 s: until then it refuses the claim.
app=""
deadline=$((SECONDS + 120))
while [[ -z "${app}" ]] && ((SECONDS < deadline)); do
    app=$(submit "${ORG}" CJIB 2>/dev/null) || { app="" && sleep 2; }
done
[[ -n "${app}" ]] || {
    fail "intake did not accept claims at ${ORG} within 120 s"
    finish
}
arr=$(arrangement_of "${app}")
pause "${arr}"
in=$(sql_list "${arr}")
wait_for 180 "${ORG}'s events delivered" all_received "${ORG}" "${in}"
wait_for 60 "both of ${ORG}'s events delivered" sql_true \
    "SELECT count(*) = 2 FROM orgsim.received WHERE org = '${ORG}' AND arrangement_id IN (${in})"
check_order_and_once "${ORG}" "${in}"
check "the event names the new organisation's part only" sql_true \
    "SELECT bool_and(body->'data'->>'organisation' = '${ORG}' AND body->>'subject' = '${arr}') FROM orgsim.received WHERE org = '${ORG}' AND arrangement_id IN (${in})"
check "nothing was restarted" test "${pids_before}" = \
    "$(cat "${BRR_RUN_DIR}"/{intake,distribution,connector}.pid)"
"${BRRCTL}" deliveries --org "${ORG}"
finish
