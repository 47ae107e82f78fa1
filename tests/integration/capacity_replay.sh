#!/usr/bin/env bash
# Integration: an assessment made by the running brr-capacity names its norm
# set by identifier ("2024-01-01.r2", data/normsets/README.md), and `brrctl
# calc capacity --replay` recomputes the stored row with exactly that set:
# the same figures, or the fields that differ, or the revision it lacks.
#
# The application: a couple at AOW age on 1 March 2024 with € 1.933,00, the
# case the 2024-01-01 correction changed (revision 1: norm € 1.933,98, group
# 1; revision 2: € 1.932,32, group 2, refused).
#
# Usage: capacity_replay.sh   (stack env exported)
# check() evaluates its condition later, on purpose (SC2016, SC2034).
# shellcheck disable=SC2016,SC2034
set -euo pipefail
# shellcheck source=intake_lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/intake_lib.sh"
: "${BRRCTL:?export the stack environment first}"

run=$(date +%s%N)
body=$(printf '{"bsn":"%s","kind":"maatwerk","household":"couple","aow_age":true,"net_income_cents":193300,"partner_net_income_cents":0,"extra_housing_cents":0,"reference_date":"2024-03-01","consent":true,"claims":[{"organisation":"CJIB","reference":"cr-%s","open_cents":100000}]}' \
    "$(new_bsn)" "${run: -12}")
out=$(api channel-CJIB POST /v1/applications -H "Idempotency-Key: cr-${run}" -d "${body}")
check '[[ $(status_of "$out") == 202 ]]' "the maatwerk application is accepted (202)"
app=$(body_of "$out" | jq -r .application_id)

stored=""
for _ in $(seq 1 120); do
    stored=$(psql_q "SELECT norm_set FROM capacity.assessments WHERE application_id = '${app}'")
    [[ -n "${stored}" ]] && break
    sleep 0.5
done
check '[[ ${stored} == 2024-01-01.r2 ]]' "the assessment stores the identifier 2024-01-01.r2 (got '${stored}')"
check '[[ $(psql_q "SELECT result->>'"'norm_set'"' FROM capacity.assessments WHERE application_id = '"'${app}'"'") == 2024-01-01.r2 ]]' \
    "the stored result names the same identifier"
check '[[ $(psql_q "SELECT count(*) FROM capacity.assessments, jsonb_array_elements_text(explanation) l WHERE application_id = '"'${app}'"' AND l LIKE '"'%normenset 2024-01-01.r2: € 1.932,32.%'"'") == 1 ]]' \
    "the Dutch explanation names the identifier and the revision 2 norm"
check '[[ $(psql_q "SELECT (result->>'"'group'"')::int FROM capacity.assessments WHERE application_id = '"'${app}'"'") == 2 ]]' \
    "revision 2 puts the income in group 2"

echo "--- replay by application id"
replay=$("${BRRCTL}" calc capacity --replay "${app}") && rc=0 || rc=$?
echo "${replay}" | jq -c '{reproduced, matches, tried}'
check '[[ ${rc} == 0 ]]' "brrctl calc capacity --replay exits 0"
check '[[ $(jq -r .reproduced <<<"${replay}") == true ]]' "the stored assessment is reproduced"
check '[[ $(jq -r ".matches | join(\",\")" <<<"${replay}") == 2024-01-01.r2 ]]' \
    "with exactly the set it names"
got=$(jq -cS .result <<<"${replay}")
want=$(psql_q "SELECT result::text FROM capacity.assessments WHERE application_id = '${app}'" | jq -cS .)
check '[[ ${got} == "${want}" ]]' "the recomputed result equals the stored one, explanation included"

row=$(psql_q "SELECT json_build_object('inputs', inputs, 'result', result, 'norm_set', norm_set)::text FROM capacity.assessments WHERE application_id = '${app}'")

echo "--- the same inputs under the superseded revision 1"
r1=$(jq -c .inputs <<<"${row}" | "${BRRCTL}" calc capacity --norm-set 2024-01-01.r1)
check '[[ $(jq -r "[.group, .bvv_cents, .norm_set] | join(\",\")" <<<"${r1}") == 1,183635,2024-01-01.r1 ]]' \
    "revision 1 gives group 1 with a protected income of € 1.836,35"
old=$(jq -c --argjson r "${r1}" '.result = $r | .norm_set = "2024-01-01.r1"' <<<"${row}")
replay=$("${BRRCTL}" calc capacity --replay <<<"${old}") && rc=0 || rc=$?
check '[[ ${rc} == 0 && $(jq -r .reproduced <<<"${replay}") == true ]]' \
    "an assessment stored under 2024-01-01.r1 is reproduced with revision 1"

echo "--- a stored figure that the set does not give"
bad=$(jq -c '.result.capacity_cents += 1' <<<"${row}")
replay=$("${BRRCTL}" calc capacity --replay <<<"${bad}" 2>/dev/null) && rc=0 || rc=$?
check '[[ ${rc} == 1 && $(jq -r .reproduced <<<"${replay}") == false ]]' "exits 1, reproduced false"
check '[[ $(jq -r ".tried[0].differences | join(\",\")" <<<"${replay}") == capacity_cents ]]' \
    "names the one field that differs"

echo "--- a revision that is not loaded"
gone=$(jq -c '.norm_set = "2024-01-01.r7"' <<<"${row}")
msg=$("${BRRCTL}" calc capacity --replay <<<"${gone}" 2>&1 >/dev/null) && rc=0 || rc=$?
echo "${msg}"
check '[[ ${rc} == 1 ]]' "exits 1"
check 'grep -q "2024-01-01.r7 is not loaded" <<<"${msg}"' "names the revision it lacks"
msg=$("${BRRCTL}" calc capacity --replay 00000000-0000-7000-8000-000000000000 2>&1 >/dev/null) && rc=0 || rc=$?
check '[[ ${rc} == 1 ]] && grep -q "no assessment with" <<<"${msg}"' "an unknown id is named, exit 1"

finish
