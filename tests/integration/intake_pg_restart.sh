#!/usr/bin/env bash
# Integration: PostgreSQL restarts while applications are in flight (issue
# 7 item 8).  Clients may see errors they can retry (503 with Retry-After,
# a broken connection), never a 202 for something lost: after the restart
# every application that was answered 202 is in intake.applications, and
# retrying with the same Idempotency-Key never creates a second one.
#
# Usage: intake_pg_restart.sh   (stack env exported; restarts the stack's
# PostgreSQL with scripts/pg)
# check() evaluates its condition later, on purpose (SC2016, SC2034).
# shellcheck disable=SC2016,SC2034
set -euo pipefail
# shellcheck source=intake_lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/intake_lib.sh"
repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
workers=${IT_WORKERS:-8}
per_worker=${IT_PER_WORKER:-25}
run=pgr-$(date +%s%N)
tmp=$(mktemp -d)
trap 'rm -rf "${tmp}"' EXIT

# worker W: per_worker applications, each retried with its key until it
# gets a final answer; every answer is logged as "ref status app_id".
worker() {
    local w=$1 i ref body out st tries
    for i in $(seq 1 "${per_worker}"); do
        ref=${run}-${w}-${i}
        # the same body on every retry, as a client retries: a request
        # whose answer was lost may have committed, and the same key with
        # another body (a new BSN) is rightly refused with 422
        body="{\"bsn\":\"$(new_bsn)\",\"kind\":\"standard\",\"consent\":true,\"claims\":[{\"organisation\":\"CJIB\",\"reference\":\"${ref}\",\"open_cents\":9900}]}"
        for tries in $(seq 1 60); do
            out=$(api channel-CJIB POST /v1/applications --max-time 10 \
                -H "Idempotency-Key: ${ref}" -d "${body}")
            st=$(status_of "$out")
            echo "${ref} ${st} $(body_of "$out" | jq -r '.application_id // "-"' 2>/dev/null || echo -)" >>"${tmp}/answers.${w}"
            [[ ${st} == 202 || ${st} == 4* ]] && break
            sleep 0.5
        done
        if [[ ${i} == 5 ]]; then touch "${tmp}/started.${w}"; fi
    done
}
for w in $(seq 1 "${workers}"); do worker "${w}" & done

# Restart PostgreSQL once every worker is under way.
for _ in $(seq 1 600); do
    (($(find "${tmp}" -name 'started.*' | wc -l) == workers)) && break
    sleep 0.1
done
echo "restarting PostgreSQL with requests in flight"
"${repo}/scripts/pg" stop >/dev/null
sleep 2
"${repo}/scripts/pg" start >/dev/null
wait

cat "${tmp}"/answers.* >"${tmp}/all"
total=$(wc -l <"${tmp}/all")
accepted=$(awk '$2 == 202' "${tmp}/all" | wc -l)
retryable=$(awk '$2 == 503 || $2 == 000' "${tmp}/all" | wc -l)
other=$(awk '$2 != 202 && $2 != 503 && $2 != 000' "${tmp}/all" | wc -l)
echo "answers: ${total}, 202: ${accepted}, 503 or broken connection: ${retryable}, other: ${other}"
awk '$2 != 202 && $2 != 503 && $2 != 000' "${tmp}/all" | head -5

check '((other == 0))' "clients saw only 202 or retryable errors (503, broken connection)"
awk '$2 == 202 {print $3}' "${tmp}/all" | sort -u >"${tmp}/ids"
check '(($(wc -l <"${tmp}/ids") == workers * per_worker))' \
    "every application got its 202 in the end (retries with the same key)"
psql_q "SELECT application_id FROM intake.applications WHERE body->'claims'->0->>'reference' LIKE '${run}-%'" |
    sort -u >"${tmp}/stored"
missing=$(comm -23 "${tmp}/ids" "${tmp}/stored" | wc -l)
check '((missing == 0))' "every application answered 202 is in intake.applications (${missing} missing)"
dups=$(psql_q "SELECT count(*) FROM (SELECT body->'claims'->0->>'reference' FROM intake.applications WHERE body->'claims'->0->>'reference' LIKE '${run}-%' GROUP BY 1 HAVING count(*) > 1) d")
check '((dups == 0))' "no application was stored twice"
stored=$(wc -l <"${tmp}/stored")
check '((stored == workers * per_worker))' "exactly one stored application per request (${stored})"
finish
