#!/usr/bin/env bash
# Integration: brr-intake's API on the running stack (issue 7): channels
# from client certificates, validation answers, personal data kept out of
# the stored body, the events and the log, idempotency (replay, a reused
# key with another body, the same key sent 20 times at once), a second
# application by the same citizen, and the read endpoints with ETags.
#
# Usage: intake_api.sh   (stack env exported)
# check() evaluates its condition later, on purpose (SC2016, SC2034).
# shellcheck disable=SC2016,SC2034
set -euo pipefail
# shellcheck source=intake_lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/intake_lib.sh"

run=$(date +%s%N)
bsn=$(new_bsn)
body() { # body REF [EXTRA-MEMBERS]
    printf '{"bsn":"%s","kind":"standard","consent":true,"claims":[{"organisation":"CJIB","reference":"%s","open_cents":%d}]%s}' \
        "${bsn}" "$1" 50000 "${2:+,$2}"
}
ref1=it-${run}-1
personal='"contact":{"email":"it-'${run}'@example.nl","phone":"06 12345678","address":{"street":"Teststraat","house_number":7,"postcode":"3511 AB","city":"Utrecht"}},"refund_account":{"iban":"NL91ABNA0417164300","account_holder":"T. Tester"}'

echo "--- channels and transport"
out=$(api channel-CJIB POST /v1/applications -H "Idempotency-Key: k-${run}-1" \
    -d "$(body "${ref1}" "${personal}")")
check '[[ $(status_of "$out") == 202 ]]' "a valid application is accepted (202)"
app1=$(body_of "$out" | jq -r .application_id)
check '[[ $(body_of "$out" | jq -r .status) == ONTVANGEN ]]' "202 says ONTVANGEN"
check '[[ $(psql_q "SELECT count(*) FROM intake.applications WHERE application_id = '"'${app1}'"'") == 1 ]]' \
    "the 202 application is in intake.applications"

out=$(api org-DUO POST /v1/applications -H "Idempotency-Key: k-${run}-x" -d "$(body x)")
check '[[ $(status_of "$out") == 403 ]]' "an organisation's certificate is no channel's: 403 (intake_roles.sh has the rest)"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "${PKI}/ca.crt" \
    -X POST "${BRR_INTAKE_URL}/v1/applications" -d '{}' || true)
check '[[ ${code} == 000 ]]' "no client certificate: the TLS handshake fails"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "${PKI}/ca.crt" \
    --cert "${PKI}/rogue.crt" --key "${PKI}/rogue.key" \
    -X POST "${BRR_INTAKE_URL}/v1/applications" -d '{}' || true)
check '[[ ${code} == 000 ]]' "a certificate from another CA: the handshake fails"
out=$(api channel-CJIB POST /v1/applications -d "$(body x)")
check '[[ $(status_of "$out") == 400 && $(body_of "$out" | jq -r .title) == "missing Idempotency-Key" ]]' \
    "no Idempotency-Key: 400"
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
# The server may answer 413 and close before curl has sent all 70 KB; curl
# then reports no status (000) although the refusal was sent: try again.
for _ in 1 2 3 4 5; do
    out=$(printf '{"bsn":"%s","pad":"%s"}' "${bsn}" "${big}" |
        api channel-CJIB POST /v1/applications -H "Idempotency-Key: k-${run}-big" --http1.1 --data-binary @-)
    [[ $(status_of "$out") != 000 ]] && break
done
check '[[ $(status_of "$out") == 413 ]]' "a body over the limit: 413 (HTTP/1.1; h2o refuses the HTTP/2 stream)"
out=$(api channel-CJIB POST /v1/applications -H "Idempotency-Key: k-${run}-bad" \
    -d '{"bsn":"123456789","kind":"x","consent":true,"claims":[],"contact":{"email":"x"},"refund_account":{"iban":"NL91ABNA0417164301","account_holder":"A"},"zzz":1}')
check '[[ $(status_of "$out") == 400 ]]' "an invalid application: 400"
check '[[ $(body_of "$out" | jq -r "[.errors[].field] | sort | join(\",\")") == "bsn,claims,contact.email,kind,refund_account.iban,zzz" ]]' \
    "every invalid field is named in one problem+json"
out=$(api channel-CJIB POST /v1/applications -H "Idempotency-Key: k-${run}-noconsent" \
    -d "$(body "${ref1}-nc" | sed 's/"consent":true,//')")
check '[[ $(status_of "$out") == 400 && $(body_of "$out" | jq -r "[.errors[].field] | join(\",\")") == consent ]]' \
    "no consent: 400 naming consent (never assumed)"
out=$(api channel-CJIB POST /v1/applications -H "Idempotency-Key: k-${run}-consentfalse" \
    -d "$(body "${ref1}-cf" | sed 's/"consent":true/"consent":false/')")
check '[[ $(status_of "$out") == 400 && $(body_of "$out" | jq -r "[.errors[].field] | join(\",\")") == consent ]]' \
    "consent false: 400 naming consent"
ct=$(curl -s -o /dev/null -w '%{content_type}' --cacert "${PKI}/ca.crt" \
    --cert "${PKI}/channel-CJIB.crt" --key "${PKI}/channel-CJIB.key" \
    -X POST "${BRR_INTAKE_URL}/v1/applications" -H "Idempotency-Key: k-${run}-ct" -d '{}')
check '[[ ${ct} == application/problem+json ]]' "errors are application/problem+json"

echo "--- personal data"
check '[[ $(psql_q "SELECT personal_key_id FROM intake.applications WHERE application_id = '"'${app1}'"'") == k1 ]]' \
    "contact details are stored sealed, with their key id"
check '[[ $(psql_q "SELECT count(*) FROM intake.applications WHERE application_id = '"'${app1}'"' AND (body::text LIKE '"'%example.nl%'"' OR body::text LIKE '"'%NL91ABNA%'"' OR body::text LIKE '"'%${bsn}%'"')") == 0 ]]' \
    "the stored body holds no BSN, e-mail or IBAN"
check '[[ $(psql_q "SELECT count(*) FROM intake.applications WHERE position(convert_to('"'it-${run}@'"', '"'UTF8'"') IN personal_enc) > 0")  == 0 ]]' \
    "the sealed column does not hold the e-mail in the clear"
check '[[ $(psql_q "SELECT count(*) FROM intake.outbox WHERE aggregateid = '"'${app1}'"' AND (position(convert_to('"'it-${run}@'"', '"'UTF8'"') IN payload) > 0 OR position(convert_to('"'NL91ABNA'"', '"'UTF8'"') IN payload) > 0 OR position(convert_to('"'${bsn}'"', '"'UTF8'"') IN payload) > 0)") == 0 ]]' \
    "the application event holds no BSN, e-mail or IBAN"
check '[[ $(psql_q "SELECT count(*) FROM intake.outbox WHERE aggregateid = '"'${app1}'"'") == 1 ]]' \
    "the application event is in the outbox"
check '! grep -q -e "${bsn}" -e "it-${run}@" -e NL91ABNA0417164300 "${INTAKE_LOG}"' \
    "the intake log holds no BSN, e-mail or IBAN"

echo "--- idempotency"
out=$(api channel-CJIB POST /v1/applications -H "Idempotency-Key: k-${run}-1" \
    -d "$(body "${ref1}" "${personal}")")
check '[[ $(status_of "$out") == 202 && $(body_of "$out" | jq -r .application_id) == "${app1}" ]]' \
    "the same key with the same body returns the original answer"
out=$(api channel-CJIB POST /v1/applications -H "Idempotency-Key: k-${run}-1" \
    -d "$(body "${ref1}-changed")")
check '[[ $(status_of "$out") == 422 ]]' "the same key with another body: 422"
out=$(api channel-BELASTINGDIENST POST /v1/applications -H "Idempotency-Key: k-${run}-1" \
    -d "$(body "${ref1}-other-channel")")
check '[[ $(status_of "$out") == 202 && $(body_of "$out" | jq -r .application_id) != "${app1}" ]]' \
    "keys are per channel: another channel's same key is another request"
check '[[ $(psql_q "SELECT count(*) FROM intake.applications WHERE body->'"'claims'"'->0->>'"'reference'"' = '"'${ref1}'"'") == 1 ]]' \
    "the replay created nothing"

ref2=it-${run}-race
tmp=$(mktemp -d)
for i in $(seq 1 20); do
    api channel-CJIB POST /v1/applications -H "Idempotency-Key: k-${run}-race" \
        -d "$(body "${ref2}")" >"${tmp}/${i}" 2>&1 &
done
wait
ids=$(for i in $(seq 1 20); do body_of "$(cat "${tmp}/${i}")" | jq -r .application_id; done | sort -u)
codes=$(for i in $(seq 1 20); do status_of "$(cat "${tmp}/${i}")"; done | sort | uniq -c | tr -s ' ' | tr '\n' ';')
rm -rf "${tmp}"
echo "   20 concurrent answers: ${codes}"
check '[[ $(psql_q "SELECT count(*) FROM intake.applications WHERE body->'"'claims'"'->0->>'"'reference'"' = '"'${ref2}'"'") == 1 ]]' \
    "the same key sent 20 times at once creates exactly one application"
check '[[ $(printf "%s\n" "${ids}" | grep -c .) == 1 && "${codes}" == " 20 202;" ]]' \
    "all 20 get 202 with the same application id"

echo "--- the same citizen again"
citizen1=$(psql_q "SELECT citizen_ref FROM intake.applications WHERE application_id = '${app1}'")
out=$(api channel-BELASTINGDIENST POST /v1/applications -H "Idempotency-Key: k-${run}-2" \
    -d "$(printf '{"bsn":"%s","kind":"standard","consent":true,"claims":[{"organisation":"BELASTINGDIENST","reference":"%s","open_cents":7000}]}' "${bsn}" "it-${run}-2")")
check '[[ $(status_of "$out") == 202 ]]' "a second application by the same citizen is accepted"
app2=$(body_of "$out" | jq -r .application_id)
check '[[ $(psql_q "SELECT citizen_ref FROM intake.applications WHERE application_id = '"'${app2}'"'") == "${citizen1}" ]]' \
    "it finds the existing citizen (same citizen_ref)"
check '[[ $(psql_q "SELECT count(*) FROM intake.citizens c JOIN intake.applications a USING (citizen_ref) WHERE a.application_id IN ('"'${app1}'"', '"'${app2}'"')") == 2 && $(psql_q "SELECT count(DISTINCT citizen_ref) FROM intake.applications WHERE application_id IN ('"'${app1}'"', '"'${app2}'"')") == 1 ]]' \
    "one citizen row for both"

echo "--- read endpoints"
out=$(api channel-CJIB GET "/v1/applications/${app1}" -D "${BRR_VAR}/h1")
check '[[ $(status_of "$out") == 200 && $(body_of "$out" | jq -r .application_id) == "${app1}" ]]' \
    "GET /v1/applications/{id}: 200"
etag=$(grep -i '^etag:' "${BRR_VAR}/h1" | cut -d' ' -f2 | tr -d '\r')
check '[[ -n "${etag}" ]]' "the application answer has an ETag"
out=$(api channel-BELASTINGDIENST GET "/v1/applications/${app1}")
check '[[ $(status_of "$out") == 404 ]]' "another channel cannot read it (404)"
out=$(api channel-CJIB GET "/v1/applications/not-a-uuid")
check '[[ $(status_of "$out") == 404 ]]' "a malformed id: 404"

# The pipeline decides; wait for the arrangement.
arr=
for _ in $(seq 1 120); do
    arr=$(psql_q "SELECT arrangement_id FROM intake.applications WHERE application_id = '${app2}' AND arrangement_id IS NOT NULL")
    [[ -n "${arr}" ]] && break
    sleep 0.5
done
check '[[ -n "${arr}" ]]' "the application's arrangement reached the read model"
if [[ -n "${arr}" ]]; then
    # app1 is decided too by now (the same citizen's arrangement)
    for _ in 1 2 3; do
        api channel-CJIB GET "/v1/applications/${app1}" -D "${BRR_VAR}/h1" >/dev/null
        etag=$(grep -i '^etag:' "${BRR_VAR}/h1" | cut -d' ' -f2 | tr -d '\r')
        out=$(api channel-CJIB GET "/v1/applications/${app1}" -H "If-None-Match: ${etag}")
        [[ $(status_of "$out") == 304 ]] && break
    done
    check '[[ $(status_of "$out") == 304 ]]' "the application with its current ETag: 304"
    out=$(api channel-CJIB GET "/v1/applications/${app1}" -H 'If-None-Match: "0123"')
    check '[[ $(status_of "$out") == 200 ]]' "the application with another ETag: 200"
    out=$(api channel-BELASTINGDIENST GET "/v1/arrangements/${arr}" -D "${BRR_VAR}/h2")
    check '[[ $(status_of "$out") == 200 ]]' "GET /v1/arrangements/{id}: 200"
    b=$(body_of "$out")
    check '[[ $(jq -r .arrangement_id <<<"$b") == "${arr}" && $(jq -r ".organisations | length" <<<"$b") -ge 1 ]]' \
        "the arrangement has terms per organisation"
    check '[[ $(jq -r ".organisations | map(.organisation) | index(\"BELASTINGDIENST\") != null" <<<"$b") == true ]]' \
        "the amended arrangement holds the second application's organisation"
    check '[[ $(jq -r ".schedule.months > 0 and .schedule.instalment_cents > 0" <<<"$b") == true ]]' \
        "the arrangement has a schedule"
    check '[[ $(jq -r ".history | length" <<<"$b") -ge 1 && $(jq -r ".pauses | type" <<<"$b") == array ]]' \
        "the arrangement has its history and pauses"
    etag2=$(grep -i '^etag:' "${BRR_VAR}/h2" | cut -d' ' -f2 | tr -d '\r')
    out=$(api channel-BELASTINGDIENST GET "/v1/arrangements/${arr}" -H "If-None-Match: ${etag2}")
    if [[ $(status_of "$out") == 200 ]]; then # changed in between: once more
        out=$(api channel-BELASTINGDIENST GET "/v1/arrangements/${arr}" -D "${BRR_VAR}/h2")
        etag2=$(grep -i '^etag:' "${BRR_VAR}/h2" | cut -d' ' -f2 | tr -d '\r')
        out=$(api channel-BELASTINGDIENST GET "/v1/arrangements/${arr}" -H "If-None-Match: ${etag2}")
    fi
    check '[[ $(status_of "$out") == 304 && -z $(body_of "$out") ]]' "If-None-Match with the current ETag: 304, no body"
    out=$(api channel-BELASTINGDIENST GET "/v1/arrangements/${arr}" -H 'If-None-Match: "0000", W/'"${etag2}")
    check '[[ $(status_of "$out") == 304 ]]' "a list with a weak form of the ETag: 304"
    out=$(api channel-BELASTINGDIENST GET "/v1/arrangements/${arr}" -H 'If-None-Match: "0000"')
    check '[[ $(status_of "$out") == 200 ]]' "another ETag: 200"
    out=$(api channel-CJIB GET "/v1/arrangements/00000000-0000-4000-8000-000000000000")
    check '[[ $(status_of "$out") == 404 ]]' "an unknown arrangement: 404"
fi
rm -f "${BRR_VAR}/h1" "${BRR_VAR}/h2"
finish
