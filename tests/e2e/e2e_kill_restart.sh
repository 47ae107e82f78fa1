#!/usr/bin/env bash
# tests/e2e/e2e_kill_restart.sh: any service may be killed at any instant.
#
# Usage: e2e_kill_restart.sh BRR-LOADGEN [N]
#
# While brr-loadgen submits N valid applications (default 1000), kills each
# service in turn with SIGKILL (capacity, distribution, connector, pause,
# intake, and the organisation simulator) and starts it again with
# scripts/stack start.  Then asserts that nothing was lost and nothing
# happened twice: every accepted application has exactly one arrangement,
# every (arrangement, organisation it names) was received exactly once,
# and the connector holds exactly one delivery per pair.  Repeated
# deliveries the simulator dropped as duplicates (at least once on the
# wire, once in effect) are reported, not failed.
# Exits 77 (skipped) when the stack's environment is missing.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../../scripts/lib.sh
source "${here}/../../scripts/lib.sh"
# shellcheck source=lib.sh
source "${here}/lib.sh"

loadgen=${1:?usage: e2e_kill_restart.sh BRR-LOADGEN [N]}
n=${2:-1000}
for v in BRR_PG_DSN BRR_PKI_DIR BRR_BUILD; do
    if [[ -z "${!v:-}" ]]; then
        echo "skipped: ${v} is not set (eval \"\$(scripts/stack env)\")"
        exit 77
    fi
done

work=$(mktemp -d -t brr-kill.XXXXXX)
lgpid=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    [[ -n "${lgpid}" ]] && kill "${lgpid}" 2>/dev/null
    rm -rf -- "${work}"
}
trap cleanup EXIT
out=${work}/applications.jsonl
failures=0
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    failures=$((failures + 1))
}

kill_one() {
    local name=$1 pid
    pid=$(read_pid "${BRR_RUN_DIR}/${name}.pid")
    if [[ -n "${pid}" ]] && kill -KILL "${pid}" 2>/dev/null; then
        say "killed ${name} (pid ${pid}) with SIGKILL"
    fi
    while kill -0 "${pid}" 2>/dev/null; do sleep 0.05; done
    "${BRR_REPO}/scripts/stack" start >/dev/null 2>"${work}/restart.log" ||
        {
            cat "${work}/restart.log" >&2
            die "could not restart ${name}"
        }
}

dups_before=$(psql "${BRR_PG_DSN}" -XAt -c \
    "SELECT coalesce(sum(n), 0) FROM orgsim.duplicates")
say "submitting ${n} applications while killing every service in turn"
"${loadgen}" -n "${n}" -c 16 --invalid-fraction 0 --seed "$$" \
    --out "${out}" >"${work}/loadgen.txt" 2>&1 &
lgpid=$!
for victim in capacity distribution connector pause orgsim; do
    sleep 1
    kill_one "${victim}"
done
if ! wait "${lgpid}"; then
    cat "${work}/loadgen.txt" >&2
    fail "brr-loadgen: some answers were not the expected ones"
fi
lgpid=
# intake last: its consumer (the read model) must resume too
kill_one intake

lg_prepare "${out}"
say "waiting for delivery to the organisations"
lg_wait "${out}" 600 || fail "not every valid application was delivered"

if ! lg_psql "${out}" -At >"${work}/checks.txt" <<'SQL'; then
-- One pass over distribution.history (no index on the application id):
-- a subquery per application scanned it once each, minutes on a stack
-- that has seen a few benchmarks.
SELECT 'accepted applications without exactly one arrangement',
  count(*) FROM lg_apps l LEFT JOIN (
    SELECT h.detail->>'application_id' AS app,
           count(DISTINCT h.arrangement_id) AS n
    FROM distribution.history h
    WHERE h.detail->>'application_id' IN
          (SELECT application_id::text FROM lg_apps WHERE status = 202)
    GROUP BY 1) c ON c.app = l.application_id::text
  WHERE l.status = 202 AND coalesce(c.n, 0) <> 1;
SELECT '(arrangement, organisation) pairs not received exactly once',
  count(*) FROM lg_want w LEFT JOIN lg_arr x USING (application_id)
  WHERE (SELECT count(*) FROM orgsim.received r
         WHERE r.arrangement_id = x.arrangement_id
           AND r.org = w.organisation) <> 1;
SELECT 'connector deliveries not exactly one per pair',
  count(*) FROM lg_want w LEFT JOIN lg_arr x USING (application_id)
  WHERE (SELECT count(*) FROM connector.deliveries d
         WHERE d.arrangement_id = x.arrangement_id
           AND d.organisation = w.organisation) <> 1;
SELECT 'order violations at the organisations',
  count(*) FROM orgsim.order_violations v JOIN lg_arr x
  ON x.arrangement_id = v.arrangement_id;
SQL
    fail "the checks could not run"
fi
while IFS='|' read -r what count; do
    if [[ "${count}" != 0 ]]; then
        fail "${what}: ${count}"
    else
        say "ok: ${what}: 0"
    fi
done <"${work}/checks.txt"
dups_after=$(psql "${BRR_PG_DSN}" -XAt -c \
    "SELECT coalesce(sum(n), 0) FROM orgsim.duplicates")
say "repeated deliveries dropped by the organisations: $((dups_after - dups_before))"

if ((failures > 0)); then
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
