#!/usr/bin/env bash
# Integration: channels and organisations are different roles on brr-intake
# (services/intake/peer.c).  CJIB is both a web-form channel and an
# organisation with the same CN; only the issuing CA (scripts/pki:
# channel-ca, org-ca) tells the certificates apart.  Each certificate is
# refused on every route of the other role with a 403 problem+json that
# says why, and nothing of the refused request is stored; each is
# accepted on its own role's routes.
#
# Usage: intake_roles.sh   (stack env exported)
# check() evaluates its condition later, on purpose (SC2016, SC2034).
# shellcheck disable=SC2016,SC2034
set -euo pipefail
# shellcheck source=intake_lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/intake_lib.sh"

run=roles-$(date +%s%N)
bsn=$(new_bsn)
zero=00000000-0000-4000-8000-000000000000
app='{"bsn":"'${bsn}'","kind":"standard","consent":true,"claims":[{"organisation":"CJIB","reference":"'${run}'","open_cents":50000}]}'
report='{"report_id":"'${run}'","arrangement_id":"'${zero}'","type":"PAYMENT_RECEIVED","reference":"'${run}'","amount_cents":100,"received_on":"2025-01-01"}'

# forbidden OUTPUT TITLE WORD: a 403 problem+json with this title whose
# detail mentions WORD.
forbidden() {
    local body
    body=$(body_of "$1")
    [[ $(status_of "$1") == 403 &&
        $(jq -r .status <<<"${body}") == 403 &&
        $(jq -r .title <<<"${body}") == "$2" &&
        $(jq -r .detail <<<"${body}") == *"$3"* ]]
}
ctype() { # ctype CERT METHOD PATH [curl args]: the answer's Content-Type
    local cert=$1 method=$2 path=$3
    shift 3
    curl -s -o /dev/null -w '%{content_type}' --cacert "${PKI}/ca.crt" \
        --cert "${PKI}/${cert}.crt" --key "${PKI}/${cert}.key" \
        -X "${method}" "$@" "${BRR_INTAKE_URL}${path}"
}

echo "--- the certificates"
for c in channel-CJIB channel-BELASTINGDIENST channel-SCHULDHULP; do
    check '[[ $(openssl x509 -in "${PKI}/'$c'.crt" -noout -issuer) == *"channel CA"* ]]' \
        "${c} is issued by the channel CA"
done
check '[[ $(openssl x509 -in "${PKI}/org-CJIB.crt" -noout -issuer) == *"organisation CA"* ]]' \
    "org-CJIB is issued by the organisation CA"
check '[[ $(openssl x509 -in "${PKI}/org-CJIB.crt" -noout -subject) == *"CN = CJIB"* && $(openssl x509 -in "${PKI}/channel-CJIB.crt" -noout -subject) == *"CN = CJIB"* ]]' \
    "both carry CN=CJIB: the name alone cannot tell them apart"

echo "--- a channel certificate on the organisations' route"
for c in channel-CJIB channel-BELASTINGDIENST channel-SCHULDHULP; do
    out=$(api "$c" POST /v1/reports -H 'Content-Type: application/json' -d "${report}")
    check 'forbidden "$out" "not an organisation" "channel"' \
        "${c} on POST /v1/reports: 403 not an organisation (detail names the channel certificate)"
done
check '[[ $(ctype channel-CJIB POST /v1/reports -d "${report}") == application/problem+json ]]' \
    "the refusal is application/problem+json"
check '[[ $(psql_q "SELECT count(*) FROM intake.idempotency_keys WHERE key = '"'${run}'"'") == 0 ]]' \
    "nothing of the refused report is stored"

echo "--- an organisation certificate on the channels' routes"
out=$(api org-CJIB POST /v1/applications -H "Idempotency-Key: ${run}-a" -d "${app}")
check 'forbidden "$out" "not a channel" "organisation"' \
    "org-CJIB (CN=CJIB, a channel's name) on POST /v1/applications: 403 not a channel"
check '[[ $(ctype org-CJIB POST /v1/applications -H "Idempotency-Key: ${run}-a" -d "${app}") == application/problem+json ]]' \
    "the refusal is application/problem+json"
out=$(api org-BELASTINGDIENST POST /v1/applications -H "Idempotency-Key: ${run}-b" -d "${app}")
check 'forbidden "$out" "not a channel" "organisation"' \
    "org-BELASTINGDIENST on POST /v1/applications: 403 not a channel"
out=$(api org-CJIB GET "/v1/applications/${zero}")
check 'forbidden "$out" "not a channel" "organisation"' \
    "org-CJIB on GET /v1/applications/{id}: 403"
out=$(api org-CJIB GET "/v1/arrangements/${zero}")
check 'forbidden "$out" "not a channel" "organisation"' \
    "org-CJIB on GET /v1/arrangements/{id}: 403"
out=$(api org-CJIB POST "/v1/arrangements/${zero}/pauses" -H "Idempotency-Key: ${run}-p" \
    -d '{"start_date":"2030-01-01","end_date":"2030-02-01","reason":"test"}')
check 'forbidden "$out" "not a channel" "organisation"' \
    "org-CJIB on POST /v1/arrangements/{id}/pauses: 403"
check '[[ $(psql_q "SELECT count(*) FROM intake.idempotency_keys WHERE key LIKE '"'${run}-%'"'") == 0 ]]' \
    "nothing of the refused requests is stored"

echo "--- each on its own role's route"
out=$(api org-CJIB POST /v1/reports -d "${report}")
check '[[ $(status_of "$out") == 404 ]]' \
    "org-CJIB on POST /v1/reports passes the role check (404: no such arrangement)"
out=$(api channel-CJIB POST /v1/applications -H "Idempotency-Key: ${run}-ok" -d "${app}")
check '[[ $(status_of "$out") == 202 ]]' "channel-CJIB on POST /v1/applications: 202"
finish
