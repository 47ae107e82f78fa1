# shellcheck shell=bash
#
# tests/e2e/lib.sh: what scripts/demo, scripts/bench and the e2e test share
# to follow brr-loadgen's applications through the running stack.
#
# Sourced after scripts/lib.sh (say, warn, die), never run.  Needs
# BRR_PG_DSN (eval "$(scripts/stack env)").  A run is brr-loadgen's --out
# file OUT (one JSON line per application); lg_prepare turns it into tab
# separated files beside it, and lg_psql runs SQL with two temporary tables
# loaded from them:
#
#   lg_apps(application_id, key, channel, valid, reason, status,
#           submit_ms, answer_ms)            every application
#   lg_claims(application_id, organisation, reference, open_cents)
#                                            claims of valid, accepted ones
#   lg_refs(valid, reference)                every claim reference sent
#
# An application is delivered when, for every organisation it names,
# orgsim.received holds an event for the arrangement that intake recorded
# for it (intake.applications.arrangement_id).

# lg_prepare OUT: writes OUT.apps.tsv, OUT.claims.tsv and OUT.refs.tsv.
lg_prepare() {
    local out=$1
    jq -r '[.application_id // "", .key, .channel, .valid, .reason,
            .status, .submit_ms, .answer_ms] | @tsv' \
        "${out}" | sed 's/^\t/\\N\t/' >"${out}.apps.tsv"
    jq -r 'select(.valid and .status == 202) | .application_id as $a
           | .claims[] | [$a, .organisation, .reference, .open_cents]
           | @tsv' "${out}" >"${out}.claims.tsv"
    jq -r '.valid as $v | .claims[] | [$v, .reference] | @tsv' \
        "${out}" >"${out}.refs.tsv"
}

# lg_psql OUT [PSQL-OPTION...]: runs the SQL on stdin with the run's
# tables loaded; stops at the first error.
lg_psql() {
    local out=$1
    shift
    {
        cat <<'SQL'
SET client_min_messages TO warning;
CREATE TEMP TABLE lg_apps (application_id uuid, key text, channel text,
  valid boolean, reason text, status int, submit_ms bigint,
  answer_ms bigint);
CREATE TEMP TABLE lg_claims (application_id uuid, organisation text,
  reference text, open_cents bigint);
CREATE TEMP TABLE lg_refs (valid boolean, reference text);
SQL
        printf "\\\\copy lg_apps FROM '%s'\n" "${out}.apps.tsv"
        printf "\\\\copy lg_claims FROM '%s'\n" "${out}.claims.tsv"
        printf "\\\\copy lg_refs FROM '%s'\n" "${out}.refs.tsv"
        cat <<'SQL'
CREATE INDEX ON lg_apps (application_id);
CREATE INDEX ON lg_claims (application_id, organisation);
ANALYZE lg_apps;
ANALYZE lg_claims;
ANALYZE lg_refs;
-- The arrangement of each valid, accepted application (once known).
CREATE TEMP VIEW lg_arr AS
  SELECT l.application_id, a.status AS app_status,
         a.arrangement_id::text AS arrangement_id
  FROM lg_apps l JOIN intake.applications a USING (application_id)
  WHERE l.valid AND l.status = 202;
CREATE TEMP VIEW lg_want AS
  SELECT DISTINCT application_id, organisation FROM lg_claims;
SQL
        cat
    } | psql "${BRR_PG_DSN}" -X -q -v ON_ERROR_STOP=1 "$@"
}

# lg_progress OUT: prints "<deliveries wanted> <received> <applications>
# <applications complete>" for the run.
lg_progress() {
    lg_psql "$1" -At -F ' ' <<'SQL'
WITH got AS (
  SELECT w.application_id, w.organisation,
         EXISTS (SELECT 1 FROM lg_arr x JOIN orgsim.received r
                   ON r.arrangement_id = x.arrangement_id
                  AND r.org = w.organisation
                 WHERE x.application_id = w.application_id) AS ok
  FROM lg_want w)
SELECT count(*), count(*) FILTER (WHERE ok),
       count(DISTINCT application_id),
       count(DISTINCT application_id) - count(DISTINCT application_id)
         FILTER (WHERE NOT ok)
FROM got;
SQL
}

# lg_received_since OUT: how many events orgsim recorded since the run's
# first submission: a cheap upper bound on lg_progress's count (a range of
# the index on orgsim.received.received_at, no temporary tables), so
# waiting does not load the database it measures.
lg_received_since() {
    local since
    since=$(cut -f7 "$1.apps.tsv" | sort -n | head -n 1)
    psql "${BRR_PG_DSN}" -X -q -At -c \
        "SELECT count(*) FROM orgsim.received
         WHERE received_at >= to_timestamp(${since:-0} / 1000.0)"
}

# lg_wait OUT SECONDS: waits until every valid, accepted application of
# the run reached every organisation it names, showing progress on stderr.
# Fails after SECONDS, printing where the missing ones are.  Polls the
# cheap count each second; the exact check (lg_progress, about a second of
# database time for 20,000 applications) runs only when the cheap count
# says the run may be complete, or has not moved for 5 s.
lg_wait() {
    local out=$1 seconds=$2 deadline line want got apps complete last=""
    local cheap prev=-1 still=0 wanted
    deadline=$((SECONDS + seconds))
    wanted=$(cut -f1,2 "${out}.claims.tsv" | sort -u | wc -l)
    while true; do
        cheap=$(lg_received_since "${out}") || return 1
        if ((cheap == prev)); then
            still=$((still + 1))
        else
            still=0
            prev=${cheap}
            ((cheap >= wanted)) ||
                say "received ${cheap} of ${wanted} organisation events"
        fi
        if ((cheap >= wanted || still >= 5 || SECONDS >= deadline)); then
            still=0
            line=$(lg_progress "${out}") || return 1
            read -r want got apps complete <<<"${line}"
            if [[ "${line}" != "${last}" ]]; then
                say "delivered ${got} of ${want} organisation events;" \
                    "${complete} of ${apps} applications complete"
                last=${line}
            fi
            if ((got == want)); then
                return 0
            fi
        fi
        if ((SECONDS >= deadline)); then
            warn "not every application was delivered after ${seconds}s;" \
                "the missing ones by application status:"
            lg_psql "${out}" >&2 <<'SQL'
SELECT coalesce(x.app_status, '(no application row)') AS status,
       count(DISTINCT w.application_id) AS applications,
       count(*) AS organisation_events
FROM lg_want w LEFT JOIN lg_arr x USING (application_id)
WHERE NOT EXISTS (SELECT 1 FROM orgsim.received r
                  WHERE r.arrangement_id = x.arrangement_id
                    AND r.org = w.organisation)
GROUP BY 1 ORDER BY 1;
SQL
            return 1
        fi
        sleep 1
    done
}

# lg_latency OUT: prints "<p50 ms> <p99 ms> <max ms> <first accepted ms>
# <last delivery ms> <applications>": end-to-end latency per application
# from intake's commit (connector.deliveries.submitted_at_ms) to the last
# of its organisations recording the event, and the run's span from the
# first HTTP 202 to the last delivery.
lg_latency() {
    lg_psql "$1" -At -F ' ' <<'SQL'
WITH per_app AS (
  SELECT x.application_id,
         extract(epoch FROM max(r.received_at)) * 1000 AS last_ms,
         min(d.submitted_at_ms) AS sub_ms
  FROM lg_arr x
  JOIN orgsim.received r ON r.arrangement_id = x.arrangement_id
  JOIN connector.deliveries d
    ON d.organisation = r.org AND d.event_id = r.event_id
  GROUP BY 1)
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY last_ms - sub_ms)),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY last_ms - sub_ms)),
       round(max(last_ms - sub_ms)),
       (SELECT min(answer_ms) FROM lg_apps WHERE status = 202),
       round(max(last_ms)), count(*)
FROM per_app;
SQL
}

# lg_stack_running: true when this checkout's stack runs (scripts/stack
# status: the five services and the simulator from $BRR_BUILD, per the pid
# files under $BRR_RUN_DIR).
lg_stack_running() {
    local st
    st=$("${BRR_REPO}/scripts/stack" status 2>/dev/null) || return 1
    local re='^(intake|capacity|distribution|pause|connector|orgsim): running'
    [[ $(grep -c -E "${re}" <<<"${st}") == 6 ]]
}
