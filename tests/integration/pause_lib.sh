# shellcheck shell=bash
#
# tests/integration/pause_lib.sh: what the payment pause's integration
# tests share (sourced, never run).  Builds on connector_lib.sh (say, fail,
# check, finish, psql_q, wait_for, sql_true, submit, arrangement_of).
#
# Requests go through the real intake API; decisions are read back through
# the API (GET .../pauses/{id}) and from pause.*, distribution.* and
# orgsim.* in PostgreSQL.  Every wait is bounded and generous; no assertion
# depends on how long anything took.
# shellcheck source=connector_lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/connector_lib.sh"

# api CN METHOD PATH [curl args...]: the body, then a last line with the
# HTTP status.
api() {
    local cn=$1 method=$2 path=$3
    shift 3
    curl -sS --max-time 30 --cacert "${BRR_PKI_DIR}/ca.crt" \
        --cert "${BRR_PKI_DIR}/${cn}.crt" --key "${BRR_PKI_DIR}/${cn}.key" \
        -X "${method}" -w '\n%{http_code}' "$@" "${BRR_INTAKE_URL}${path}" ||
        echo $'\n000'
}
status_of() { printf '%s\n' "$1" | tail -n 1; }
body_of() { printf '%s\n' "$1" | sed '$d'; }
uuid() { cat /proc/sys/kernel/random/uuid; }

# pause_post ARR START END [CN]: prints the new pause id (fails unless 202).
pause_post() {
    local out
    out=$(api "${4:-channel-CJIB}" POST "/v1/arrangements/$1/pauses" \
        -H 'Content-Type: application/json' -H "Idempotency-Key: $(uuid)" \
        -d "{\"start_date\":\"$2\",\"end_date\":\"$3\",\"reason\":\"integration test\"}")
    if [[ "$(status_of "${out}")" != 202 ]]; then
        echo "pause_post: $(status_of "${out}"): $(body_of "${out}")" >&2
        return 1
    fi
    body_of "${out}" | jq -r .pause_id
}

# pause_cancel ARR PID [CN]: the HTTP status of the DELETE.
pause_cancel() {
    status_of "$(api "${3:-channel-CJIB}" DELETE "/v1/arrangements/$1/pauses/$2" \
        -H "Idempotency-Key: $(uuid)")"
}

# pause_state PID: the state in intake's read model ("" while undecided).
pause_state() {
    psql_q "SELECT coalesce((SELECT state FROM intake.arrangement_pauses WHERE pause_id = '$1'), '')"
}
pause_is() { [[ "$(pause_state "$1")" == "$2" ]]; }

# refused_with ARR PID LIMIT ALLOWED ASKED [CN]: GET of the pause (by CN,
# default channel-CJIB) answers 422 problem+json naming LIMIT with the
# figures (ASKED '*': any).
refused_with() {
    local out b
    out=$(api "${6:-channel-CJIB}" GET "/v1/arrangements/$1/pauses/$2")
    b=$(body_of "${out}")
    if [[ "$(status_of "${out}")" == 422 &&
        "$(jq -r '.limit' <<<"${b}")" == "$3" &&
        "$(jq -r '.allowed' <<<"${b}")" == "$4" &&
        ("$5" == '*' || "$(jq -r '.asked' <<<"${b}")" == "$5") &&
        "$(jq -r '.type' <<<"${b}")" == urn:brr:problem:pause-refused ]]; then
        return 0
    fi
    echo "refused_with $3: got $(status_of "${out}") ${b}" >&2
    return 1
}

# expect_refused ARR START END LIMIT ALLOWED ASKED [CN]: CN asks and reads
# the refusal back.
expect_refused() {
    local pid
    pid=$(pause_post "$1" "$2" "$3" "${7:-channel-CJIB}") || {
        fail "request for $4 not accepted by intake"
        return
    }
    wait_for 120 "the decision on ${pid}" pause_is "${pid}" refused &&
        check "refused by $4 ($6 asked, $5 allowed)" refused_with "$1" "${pid}" "$4" "$5" "$6" "${7:-channel-CJIB}"
}

# known ARR: brr-pause has the arrangement in its mirror, ACTIEF.
known() { sql_true "SELECT EXISTS (SELECT 1 FROM pause.arrangements WHERE arrangement_id = '$1' AND state = 'ACTIEF')"; }

# notices ARR TYPE: "org:n" per organisation of the arrangement, the
# number of TYPE events the simulator received for it.
notices() {
    psql_q "SELECT string_agg(c.organisation || ':' || (SELECT count(*) FROM orgsim.received r WHERE r.org = c.organisation AND r.arrangement_id = '$1' AND r.type = 'nl.rijksoverheid.brr.$2'), ',' ORDER BY c.organisation) FROM (SELECT DISTINCT organisation FROM distribution.claims WHERE arrangement_id = '$1') c"
}
# all_told ARR TYPE N: every organisation of ARR received exactly N.
all_told() {
    local n
    n=$(notices "$1" "$2")
    [[ -n "${n}" ]] && ! grep -qv ":$3\$" <<<"${n//,/$'\n'}"
}
# all_told_at_least ARR TYPE: every organisation received at least one.
all_told_at_least() {
    local n
    n=$(notices "$1" "$2")
    [[ -n "${n}" ]] && ! grep -q ":0\$" <<<"${n//,/$'\n'}"
}

arr_col() { psql_q "SELECT $2 FROM distribution.arrangements WHERE arrangement_id = '$1'"; }

# What the organisations were told of a pause's new schedule (the
# "pause"."resume" object of their notices of TYPE, as the simulator
# received them).
# resume_ok ARR TYPE DUE: every notice names DUE as the first instalment
# after the pause, with the organisation's share the sum of its claims'
resume_ok() {
    sql_true "SELECT count(*) > 0 AND bool_and(r.body->'data'->'pause'->'resume'->>'due_date' = '$3' AND (r.body->'data'->'pause'->'resume'->>'instalment_cents')::bigint = (SELECT sum((c->>'share_cents')::bigint) FROM jsonb_array_elements(r.body->'data'->'pause'->'resume'->'claims') c) AND jsonb_array_length(r.body->'data'->'pause'->'resume'->'claims') = jsonb_array_length(r.body->'data'->'claims')) FROM orgsim.received r WHERE r.arrangement_id = '$1' AND r.type = 'nl.rijksoverheid.brr.$2'"
}
# resume_sum ARR TYPE: the organisations' shares told, together
resume_sum() { psql_q "SELECT coalesce(sum((r.body->'data'->'pause'->'resume'->>'instalment_cents')::bigint), -1) FROM orgsim.received r WHERE r.arrangement_id = '$1' AND r.type = 'nl.rijksoverheid.brr.$2'"; }
# resume_is_inst ARR TYPE SEQ: each claim's share told is what instalment
# SEQ asks of it (distribution.instalment_shares)
resume_is_inst() {
    sql_true "SELECT count(*) > 0 AND bool_and((c->>'share_cents')::bigint = coalesce((SELECT s.share_cents FROM distribution.instalment_shares s WHERE s.arrangement_id = r.arrangement_id::uuid AND s.seq = $3 AND s.organisation = r.org AND s.reference = c->>'reference'), -1)) FROM orgsim.received r, jsonb_array_elements(r.body->'data'->'pause'->'resume'->'claims') c WHERE r.arrangement_id = '$1' AND r.type = 'nl.rijksoverheid.brr.$2'"
}
