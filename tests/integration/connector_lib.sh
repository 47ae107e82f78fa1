# shellcheck shell=bash
#
# tests/integration/connector_lib.sh: what the connector's integration
# tests share (sourced, never run).  Needs the stack's environment
# (eval "$(scripts/stack env)"): BRR_PG_DSN, BRRCTL, BRR_PKI_DIR,
# BRR_INTAKE_URL, BRR_ORGSIM_ADMIN, BRR_ORGSIM_LISTEN.
#
# Applications go through the real intake API; the simulator's admin port
# injects faults; assertions read connector.* and orgsim.* in PostgreSQL.
# Every wait is bounded and generous: the tests must hold on a loaded
# two-core machine.
set -euo pipefail

T_NAME=$(basename -- "$0" .sh)
T_FAILED=0
T_TAG="${T_NAME}-$$-${RANDOM}"

say() { echo "${T_NAME}: $*"; }
fail() {
    echo "${T_NAME}: FAIL: $*" >&2
    T_FAILED=1
}
check() { # check DESCRIPTION COMMAND...: fails the test unless it holds
    local what=$1
    shift
    if "$@"; then say "ok: ${what}"; else fail "${what}"; fi
}
finish() {
    if ((T_FAILED)); then
        echo "0 passed, 1 failed"
        exit 1
    fi
    echo "1 passed, 0 failed"
}

psql_q() { psql "${BRR_PG_DSN}" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every second.
wait_for() {
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + secs))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            fail "timed out after ${secs}s waiting for ${what}"
            return 1
        fi
        sleep 1
    done
}

sql_true() { [[ "$(psql_q "$1")" == t ]]; }

# ---- the simulator's faults ----

fault_set() { # fault_set ORG JSON
    curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "$2" "http://${BRR_ORGSIM_ADMIN}/faults/$1"
}
fault_clear() { curl -fsS -o /dev/null -X DELETE "http://${BRR_ORGSIM_ADMIN}/faults/$1"; }

# ---- applications ----

# A random valid BSN (9 digits, elfproef), never one of the well-known
# test numbers, so each application is a new citizen.
bsn_new() {
    local d s i c
    while true; do
        d=$((RANDOM % 9 + 1))
        for i in 1 2 3 4 5 6 7; do d="${d}$((RANDOM % 10))"; done
        s=0
        for i in 0 1 2 3 4 5 6 7; do s=$((s + ${d:i:1} * (9 - i))); done
        c=$((s % 11))
        ((c == 10)) && continue
        echo "${d}${c}"
        return
    done
}

# submit ORG... : one application with a claim at each ORG; prints the
# application id.  Claim references are ORG-<uuid> (never nine digits: the
# simulator refuses anything that looks like a BSN).  It runs in a
# subshell ($(submit ...)), so uniqueness comes from fresh UUIDs.
submit() {
    local claims="" org body out code id key
    key=$(cat /proc/sys/kernel/random/uuid)
    for org in "$@"; do
        [[ -n "${claims}" ]] && claims+=","
        claims+="{\"organisation\":\"${org}\",\"reference\":\"${org}-${key:0:13}\",\"open_cents\":$((RANDOM % 90000 + 10000))}"
    done
    body="{\"bsn\":\"$(bsn_new)\",\"channel\":\"CJIB\",\"kind\":\"standard\",\"consent\":true,\"claims\":[${claims}]}"
    out=$(curl -sS --cert "${BRR_PKI_DIR}/channel-CJIB.crt" \
        --key "${BRR_PKI_DIR}/channel-CJIB.key" --cacert "${BRR_PKI_DIR}/ca.crt" \
        -H 'Content-Type: application/json' \
        -H "Idempotency-Key: ${key}" -d "${body}" \
        -w '\n%{http_code}' "${BRR_INTAKE_URL}/v1/applications") || return 1
    code=${out##*$'\n'}
    [[ "${code}" == 202 ]] || {
        echo "submit: HTTP ${code}: ${out%$'\n'*}" >&2
        return 1
    }
    id=$(sed -n 's/.*"application_id":"\([0-9a-f-]*\)".*/\1/p' <<<"${out}")
    echo "${id}"
}

# arrangement_of APP: the arrangement intake recorded for the application
# (waits for it, bounded).
arrangement_of() {
    local app=$1 arr="" deadline=$((SECONDS + 120))
    while ((SECONDS < deadline)); do
        arr=$(psql_q "SELECT coalesce(arrangement_id::text, '') FROM intake.applications WHERE application_id = '${app}'")
        [[ -n "${arr}" ]] && {
            echo "${arr}"
            return 0
        }
        sleep 1
    done
    echo "arrangement_of: no arrangement for ${app} after 120s" >&2
    return 1
}

# pause ARR: one more event per organisation of the arrangement.  The
# first call pauses it from today (brr-pause's timer fires on its next
# tick: "paused"); the next call, once that pause runs, cancels it
# ("resumed"), since the pause limits (DOMAIN §5) refuse a second pause
# that overlaps or follows at once.
declare -A PAUSE_OF=()
pause() {
    local from to out pid deadline
    pid=${PAUSE_OF[$1]:-}
    if [[ -n "${pid}" ]]; then
        deadline=$((SECONDS + 120))
        until [[ "$(psql_q "SELECT coalesce((SELECT state FROM intake.arrangement_pauses WHERE pause_id = '${pid}'), '')")" == started ]]; do
            ((SECONDS < deadline)) || {
                echo "pause: ${pid} did not start within 120s" >&2
                return 1
            }
            sleep 1
        done
        curl -fsS -o /dev/null -X DELETE --cert "${BRR_PKI_DIR}/channel-CJIB.crt" \
            --key "${BRR_PKI_DIR}/channel-CJIB.key" --cacert "${BRR_PKI_DIR}/ca.crt" \
            -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" \
            "${BRR_INTAKE_URL}/v1/arrangements/$1/pauses/${pid}"
        PAUSE_OF[$1]=
        return
    fi
    from=$(TZ=Europe/Amsterdam date +%F)
    to=$(date -d '+60 days' +%F)
    out=$(curl -fsS --cert "${BRR_PKI_DIR}/channel-CJIB.crt" \
        --key "${BRR_PKI_DIR}/channel-CJIB.key" --cacert "${BRR_PKI_DIR}/ca.crt" \
        -H 'Content-Type: application/json' \
        -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" \
        -d "{\"start_date\":\"${from}\",\"end_date\":\"${to}\",\"reason\":\"test\"}" \
        "${BRR_INTAKE_URL}/v1/arrangements/$1/pauses") || return 1
    PAUSE_OF[$1]=$(sed -n 's/.*"pause_id":"\([0-9a-f-]*\)".*/\1/p' <<<"${out}")
}

# sql_list ARR...: 'a','b' for an IN list.
sql_list() {
    local out="" a
    for a in "$@"; do out+="${out:+,}'${a}'"; done
    echo "${out}"
}

# queued ORG N ARRS: at least N deliveries queued for ORG over the
# arrangements (an IN list).
queued() {
    sql_true "SELECT count(*) >= $2 FROM connector.deliveries WHERE organisation = '$1' AND arrangement_id IN ($3)"
}

# all_received ORG ARRS: every queued delivery of ORG for the arrangements
# is DELIVERED and recorded by the simulator.
all_received() {
    sql_true "SELECT bool_and(d.status = 'DELIVERED' AND EXISTS (SELECT 1 FROM orgsim.received r WHERE r.org = d.organisation AND r.event_id = d.event_id)) AND count(*) > 0 FROM connector.deliveries d WHERE d.organisation = '$1' AND d.arrangement_id IN ($2)"
}

# The checks every test ends with, for ORG over the arrangements ARRS.
check_order_and_once() {
    local org=$1 arrs=$2
    check "no order violations at ${org}" sql_true \
        "SELECT count(*) = 0 FROM orgsim.order_violations WHERE org = '${org}' AND arrangement_id IN (${arrs})"
    check "${org} received each event exactly once, sequences 1..n per arrangement" sql_true \
        "SELECT count(*) = 0 FROM (SELECT arrangement_id, array_agg(sequence ORDER BY received_at, sequence) AS got, count(*) AS n FROM orgsim.received WHERE org = '${org}' AND arrangement_id IN (${arrs}) GROUP BY 1) x WHERE x.got <> (SELECT array_agg(g::bigint ORDER BY g) FROM generate_series(1, x.n::int) g)"
    check "the simulator received what the connector queued for ${org}" sql_true \
        "SELECT (SELECT count(*) FROM orgsim.received WHERE org = '${org}' AND arrangement_id IN (${arrs})) = (SELECT count(*) FROM connector.deliveries WHERE organisation = '${org}' AND arrangement_id IN (${arrs}))"
}

# No personal data left the backend: the data holds only the
# organisation's part, and no body contains one of the run's BSNs.
check_payload() {
    local org=$1 arrs=$2
    check "${org}'s payloads hold only arrangement fields" sql_true \
        "SELECT count(*) = 0 FROM (SELECT DISTINCT jsonb_object_keys(body->'data') AS k FROM orgsim.received WHERE org = '${org}' AND arrangement_id IN (${arrs})) x WHERE k NOT IN ('arrangement_id', 'organisation', 'status', 'instalment_cents', 'months', 'claims', 'first_due_date', 'pause', 'instalment_seq', 'due_date', 'end_date', 'reminder', 'report_id', 'reason')"
    check "${org}'s payloads hold its whole part (status, share, claims, schedule position, reminder)" sql_true \
        "SELECT count(*) = 0 FROM orgsim.received WHERE org = '${org}' AND arrangement_id IN (${arrs}) AND NOT (body->'data' ?& ARRAY['arrangement_id', 'organisation', 'status', 'instalment_cents', 'months', 'claims', 'instalment_seq', 'reminder'] AND NOT jsonb_path_exists(body->'data', '$.claims[*] ? (!exists(@.withdrawn) || !exists(@.share_cents) || !exists(@.open_cents))'))"
    check "${org}'s payloads name no bsn, income or household" sql_true \
        "SELECT count(*) = 0 FROM orgsim.received WHERE org = '${org}' AND arrangement_id IN (${arrs}) AND body::text ~* '(bsn|income|household|inkomen|huishouden|citizen|\"name\")'"
    check "the simulator refused nothing of ${org}'s as holding a bsn" sql_true \
        "SELECT coalesce(sum(n), 0) = 0 FROM orgsim.rejected WHERE org = '${org}' AND reason = 'bsn'"
}
