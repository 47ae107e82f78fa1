#!/usr/bin/env bash
# intake_lib.sh: helpers for brr-intake's integration tests (sourced).
# Needs the stack environment (eval "$(scripts/stack env)").
#
#   api CN METHOD PATH [curl args...]   one request with channel CN's client
#                                       certificate; prints the body, then a
#                                       last line "HTTP <status>"
#   status_of OUTPUT                    the status from api's output
#   body_of OUTPUT                      the body from api's output
#   new_bsn                             a fresh valid BSN (elfproef)
#   psql_q SQL                          one value from the database
#   check COND MESSAGE                  counts a failure when COND is false
#   finish                              exits 1 when anything failed
# check() evaluates its condition later, on purpose (SC2016, SC2034).
# shellcheck disable=SC2016,SC2034
: "${BRR_INTAKE_URL:?export the stack environment first}"
PKI=${BRR_PKI_DIR}
INTAKE_LOG=${BRR_LOG_DIR}/intake.log
failures=0

api() {
    local cn=$1 method=$2 path=$3
    shift 3
    curl -sS --max-time 30 --cacert "${PKI}/ca.crt" \
        --cert "${PKI}/${cn}.crt" --key "${PKI}/${cn}.key" \
        -X "${method}" -w '\nHTTP %{http_code}' "$@" "${BRR_INTAKE_URL}${path}" ||
        true # a failed transfer shows as "HTTP 000"
}
status_of() { printf '%s\n' "$1" | tail -n 1 | cut -d' ' -f2; }
body_of() { printf '%s\n' "$1" | sed '$d'; }

psql_q() { psql "${BRR_PG_DSN}" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

# A BSN nobody used before in this database: 9 digits passing the
# elfproef, drawn at random.
new_bsn() {
    local d sum i c
    while :; do
        d=$(printf '%08d' $((RANDOM * 32768 + RANDOM)) | cut -c1-8)
        [[ ${d} == 0* ]] && continue
        sum=0
        for i in 0 1 2 3 4 5 6 7; do
            sum=$((sum + (9 - i) * ${d:i:1}))
        done
        c=$((sum % 11))
        ((c == 10)) && continue
        printf '%s%d\n' "${d}" "${c}"
        return
    done
}

check() {
    if eval "$1"; then
        echo "ok: $2"
    else
        echo "FAIL: $2" >&2
        failures=$((failures + 1))
    fi
}

finish() {
    if ((failures > 0)); then
        echo "${failures} check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}
