#!/usr/bin/env bash
# tests/e2e/e2e_pipeline.sh: the demo's path, asserted end to end.
#
# Usage: e2e_pipeline.sh BRR-LOADGEN [N] [INVALID-FRACTION]
#
# Against the running stack (scripts/stack start, with its environment
# exported: BRR_PG_DSN, BRR_PKI_DIR, BRR_LOG_DIR, BRR_KAFKA_BROKERS),
# submits N sample applications (default 200, 15% invalid) with
# brr-loadgen, waits (bounded) until every valid one reached its
# organisations and nothing is pending at the connector, then asserts:
#   - every answer was the expected one (brr-loadgen's own check);
#   - every valid application has an arrangement, and the simulator
#     received exactly one event for each (arrangement, organisation it
#     names), none for an organisation it does not name, with exactly the
#     claims (reference, open_cents) sent to that organisation;
#   - no invalid application left an application row, an idempotency key
#     or anything at any organisation;
#   - the simulator saw no duplicate, no out-of-order event, and rejected
#     nothing for carrying a BSN during the run;
#   - none of the run's BSNs appears in what the simulator received, in
#     any log under $BRR_LOG_DIR, or in any key, header or value on any
#     brr.* Kafka topic.
# Exits 77 (skipped) when the stack's environment is missing.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../../scripts/lib.sh
source "${here}/../../scripts/lib.sh"
# shellcheck source=lib.sh
source "${here}/lib.sh"

loadgen=${1:?usage: e2e_pipeline.sh BRR-LOADGEN [N] [INVALID-FRACTION]}
n=${2:-200}
fraction=${3:-0.15}
for v in BRR_PG_DSN BRR_PKI_DIR BRR_LOG_DIR BRR_KAFKA_BROKERS; do
    if [[ -z "${!v:-}" ]]; then
        echo "skipped: ${v} is not set (eval \"\$(scripts/stack env)\")"
        exit 77
    fi
done
for tool in jq psql kcat; do
    command -v "${tool}" >/dev/null 2>&1 || die "${tool} is missing"
done

work=$(mktemp -d -t brr-e2e.XXXXXX)
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    rm -rf -- "${work}"
}
trap cleanup EXIT
out=${work}/applications.jsonl
bsns=${work}/bsns.txt
failures=0

# fail MSG...: records a failed assertion and goes on with the others.
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    failures=$((failures + 1))
}

bsn_rejections() {
    psql "${BRR_PG_DSN}" -X -At -c "SELECT coalesce(sum(n), 0)
        FROM orgsim.rejected WHERE reason = 'bsn'"
}

rejected_before=$(bsn_rejections)
say "submitting ${n} applications (${fraction} invalid)"
"${loadgen}" -n "${n}" -c 32 --invalid-fraction "${fraction}" \
    --out "${out}" --bsn-out "${bsns}" ||
    fail "brr-loadgen: some answers were not the expected ones"
lg_prepare "${out}"
accepted=$(jq -s '[.[] | select(.valid and .status == 202)] | length' \
    "${out}")
invalid=$(jq -s '[.[] | select(.valid | not)] | length' "${out}")
((accepted > 0)) || die "no application was accepted"
((invalid > 0)) || die "the run has no invalid application"

say "waiting for delivery to the organisations"
lg_wait "${out}" 600 || fail "not every valid application was delivered"

# Nothing may still be on its way (a retry could otherwise arrive after the
# assertions and hide a duplicate).
deadline=$((SECONDS + 120))
while true; do
    pending=$(lg_psql "${out}" -At <<'SQL'
SELECT count(*) FROM connector.deliveries d
JOIN lg_arr x ON x.arrangement_id = d.arrangement_id
WHERE d.status <> 'DELIVERED';
SQL
)
    ((pending == 0)) && break
    if ((SECONDS >= deadline)); then
        fail "${pending} connector deliveries not DELIVERED after 120s"
        break
    fi
    sleep 1
done

say "checking what the organisations received"
if ! lg_psql "${out}" -At >"${work}/checks.txt" <<'SQL'
SELECT 'valid applications accepted but without an arrangement',
  count(*) FROM lg_apps l
  LEFT JOIN intake.applications a USING (application_id)
  WHERE l.valid AND l.status = 202 AND a.arrangement_id IS NULL;
SELECT 'valid applications not answered 202',
  count(*) FROM lg_apps WHERE valid AND status <> 202;
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
SELECT 'events at organisations the application does not name',
  count(*) FROM orgsim.received r
  JOIN lg_arr x ON x.arrangement_id = r.arrangement_id
  WHERE NOT EXISTS (SELECT 1 FROM lg_want w
                    WHERE w.application_id = x.application_id
                      AND w.organisation = r.org);
WITH got AS (
  SELECT x.application_id, r.org AS organisation,
         c->>'reference' AS reference, (c->>'open_cents')::bigint AS cents
  FROM lg_arr x
  JOIN orgsim.received r ON r.arrangement_id = x.arrangement_id
  CROSS JOIN jsonb_array_elements(r.body->'data'->'claims') c),
sent AS (SELECT application_id, organisation, reference, open_cents
         FROM lg_claims)
SELECT 'claims sent but not received, or received but not sent',
  (SELECT count(*) FROM (SELECT * FROM sent EXCEPT ALL
                         SELECT * FROM got) a)
  + (SELECT count(*) FROM (SELECT * FROM got EXCEPT ALL
                           SELECT * FROM sent) b);
SELECT 'invalid applications with an idempotency key stored',
  count(*) FROM intake.idempotency_keys k
  JOIN lg_apps l ON l.key = k.key AND l.channel = k.channel
  WHERE NOT l.valid;
SELECT 'invalid applications with an application row',
  count(*) FROM intake.applications a
  CROSS JOIN jsonb_array_elements(a.body->'claims') c
  WHERE c->>'reference' IN (SELECT reference FROM lg_refs WHERE NOT valid);
SELECT 'claims of invalid applications received by an organisation',
  count(*) FROM orgsim.received r
  CROSS JOIN jsonb_array_elements(r.body->'data'->'claims') c
  WHERE c->>'reference' IN (SELECT reference FROM lg_refs WHERE NOT valid);
SELECT 'duplicates seen by the simulator',
  coalesce(sum(d.n), 0) FROM orgsim.duplicates d
  JOIN orgsim.received r USING (org, event_id)
  JOIN lg_arr x ON x.arrangement_id = r.arrangement_id;
SELECT 'order violations seen by the simulator',
  count(*) FROM orgsim.order_violations v
  JOIN lg_arr x ON x.arrangement_id = v.arrangement_id;
SQL
then
    fail "the checks failed to run"
fi
checks=0
while IFS='|' read -r name count; do
    checks=$((checks + 1))
    if [[ "${count}" != 0 ]]; then
        fail "${name}: ${count}"
    else
        echo "ok: ${name}"
    fi
done <"${work}/checks.txt"
((checks == 11)) || fail "expected 11 check results, got ${checks}"
rejected_after=$(bsn_rejections)
if ((rejected_after != rejected_before)); then
    fail "the simulator rejected $((rejected_after - rejected_before))" \
        "deliveries for carrying a BSN"
else
    echo "ok: no delivery rejected by the simulator for carrying a BSN"
fi

# ---- no BSN anywhere outside intake -------------------------------------
[[ -s "${bsns}" ]] || die "brr-loadgen wrote no BSNs"
# The check can fail: a line holding a BSN is found.
printf 'x %s y\n' "$(head -n 1 "${bsns}")" | grep -q -F -f "${bsns}" ||
    die "the BSN grep does not find a planted BSN"

# leaks FILE WHAT: fails when FILE holds any of the run's BSNs.
leaks() {
    local hits
    hits=$(grep -a -c -F -f "${bsns}" -- "$1" || true)
    if [[ "${hits}" != 0 ]]; then
        fail "${hits} line(s) of $2 hold a BSN of this run"
    else
        echo "ok: no BSN in $2"
    fi
}

psql "${BRR_PG_DSN}" -X -At -c 'SELECT body::text FROM orgsim.received' \
    >"${work}/received.txt"
grep -q -F "$(jq -r 'select(.valid and .status == 202)
                     | .claims[0].reference' "${out}" | head -n 1)" \
    "${work}/received.txt" || fail "the simulator dump misses this run"
leaks "${work}/received.txt" "what the simulator received"

shopt -s nullglob
logs=("${BRR_LOG_DIR}"/*.log)
((${#logs[@]} > 0)) || fail "no logs in ${BRR_LOG_DIR}"
cat -- "${logs[@]}" >"${work}/logs.txt"
[[ -s "${work}/logs.txt" ]] || fail "the logs are empty"
leaks "${work}/logs.txt" "the logs (${#logs[@]} files in ${BRR_LOG_DIR})"

mapfile -t topics < <(kcat -b "${BRR_KAFKA_BROKERS}" -L 2>/dev/null |
    sed -n 's/^ *topic "\(brr\.[^"]*\)".*/\1/p' | sort -u)
((${#topics[@]} > 0)) || fail "no brr.* topics listed by the broker"
: >"${work}/kafka.txt"
for t in "${topics[@]}"; do
    kcat -b "${BRR_KAFKA_BROKERS}" -C -t "${t}" -o beginning -e -q \
        -f 'key=%k headers=%h value=%s\n' >>"${work}/kafka.txt" 2>/dev/null ||
        fail "could not consume ${t}"
done
# The dump covers this run: every accepted application is on Kafka.
jq -r 'select(.valid and .status == 202) | .application_id' "${out}" \
    >"${work}/ids.txt"
found=$(grep -a -o -F -f "${work}/ids.txt" "${work}/kafka.txt" |
    sort -u | wc -l)
((found == accepted)) ||
    fail "only ${found} of ${accepted} application ids found on Kafka"
leaks "${work}/kafka.txt" \
    "Kafka keys, headers and values (${#topics[@]} brr.* topics)"

if ((failures > 0)); then
    die "${failures} assertion(s) failed"
fi
say "${accepted} valid applications delivered exactly once," \
    "${invalid} invalid ones nowhere, no BSN outside intake"
