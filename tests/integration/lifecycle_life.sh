#!/usr/bin/env bash
# Integration: a whole arrangement life on the running stack.
#
#   apply (intake API, channel certificate) -> ACTIEF, every organisation
#   told its share; organisations pay instalment 1 through POST /v1/reports
#   (their own certificates; one report sent twice has one effect); CAK's
#   claim is paid off and frees capacity: the next instalment is split over
#   CJIB and DUO only, exactly as `brrctl calc distribute` splits it;
#   instalment 2 is missed -> ACHTERSTAND and a reminder, the second
#   reminder, then VERVALLEN with each organisation's remaining balance per
#   claim.  A second application of the same citizen amends the live
#   arrangement instead of opening another; a second citizen's arrangement
#   is paid off (VOLDAAN) and a third one ended by `brrctl arrangement end`
#   (BEEINDIGD).  Every organisation event is delivered exactly once, in
#   order (orgsim.received, duplicates, order_violations), and its data
#   carries what the organisation needs (schedule position, due date, end,
#   reminder, its own report's id and the reason of a refusal or an end)
#   and nothing of another organisation or of the citizen.
#
# Time: the service's timers compare due dates with the database's clock.
# Instead of a test-only clock, the test moves one arrangement's dates back
# by N days (its due dates, reminder day and schedule position) and makes
# its timer due now: for that arrangement N days pass, in a production
# build, through the same code path the monthly run takes.
#
# Usage: lifecycle_life.sh   (stack env exported: BRR_PG_DSN, BRR_INTAKE_URL,
#                             BRR_PKI_DIR, BRRCTL)
set -euo pipefail

psql_q() { psql "${BRR_PG_DSN}" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
pki=${BRR_PKI_DIR}
run=life-$$-$RANDOM
failed=0
checks=0

check() { # check DESCRIPTION WANT GOT
    checks=$((checks + 1))
    if [[ "$2" != "$3" ]]; then
        echo "FAIL: $1: want '$2', got '$3'" >&2
        failed=$((failed + 1))
    else
        echo "ok: $1"
    fi
}

# A random BSN that passes the elfproef.
bsn() {
    local d s i
    while true; do
        d=$(printf '%08d' $((RANDOM * 32768 % 100000000 + RANDOM)))
        d=${d:0:8}
        [[ ${d:0:1} == 0 ]] && continue
        s=0
        for i in 0 1 2 3 4 5 6 7; do
            s=$((s + (9 - i) * ${d:i:1}))
        done
        ((s % 11 == 10)) && continue
        echo "${d}$((s % 11))"
        return
    done
}

# post_json CERT PATH BODY [IDEMPOTENCY-KEY]: prints "STATUS BODY".
post_json() {
    local cert=$1 path=$2 body=$3 key=${4:-}
    local hdr=()
    [[ -n "${key}" ]] && hdr=(-H "Idempotency-Key: ${key}")
    curl -sS --cacert "${pki}/ca.crt" --cert "${pki}/${cert}.crt" \
        --key "${pki}/${cert}.key" -H 'Content-Type: application/json' \
        "${hdr[@]}" -w '\n%{http_code}' -d "${body}" "${BRR_INTAKE_URL}${path}" |
        { mapfile -t l; echo "${l[-1]} ${l[*]:0:${#l[@]}-1}"; }
}

# wait_for SQL WANT [SECONDS]: polls until the query prints WANT.
wait_for() {
    local sql=$1 want=$2 t=${3:-60} got=""
    for _ in $(seq 1 $((t * 5))); do
        got=$(psql_q "${sql}")
        [[ "${got}" == "${want}" ]] && { echo "${got}"; return 0; }
        sleep 0.2
    done
    echo "${got}"
    return 1
}

apply() { # apply BSN CLAIMS-JSON INSTALMENT: prints the application id
    local body
    body=$(printf '{"bsn":"%s","kind":"standard","consent":true,"due_day":15,"claims":%s,"requested_instalment_cents":%s}' \
        "$1" "$2" "$3")
    local out
    out=$(post_json channel-CJIB /v1/applications "${body}" "${run}-$1-$RANDOM")
    [[ "${out%% *}" == 202 ]] || { echo "application refused: ${out}" >&2; return 1; }
    sed -E 's/.*"application_id":"([^"]+)".*/\1/' <<<"${out#* }"
}

arrangement_of() { # arrangement_of APPLICATION-ID
    local id=""
    for _ in $(seq 1 300); do
        id=$(psql_q "SELECT arrangement_id FROM distribution.history WHERE
                     event_type IN ('assessment.accepted', 'application.amends')
                     AND detail->>'application_id' = '$1' LIMIT 1")
        [[ -n "${id}" ]] && break
        sleep 0.2
    done
    [[ -n "${id}" ]] || { echo "no arrangement for application $1" >&2; return 1; }
    # the reports endpoint finds it through intake's read model
    wait_for "SELECT count(*) FROM intake.arrangements_view WHERE arrangement_id = '${id}'" 1 >/dev/null
    echo "${id}"
}

report() { # report ORG BODY: prints the HTTP status
    local out
    out=$(post_json "org-$1" /v1/reports "$2")
    echo "${out%% *}"
}

# pay ARR ORG REF CENTS REPORT-ID
pay() {
    report "$2" "$(printf '{"report_id":"%s","arrangement_id":"%s","type":"PAYMENT_RECEIVED","reference":"%s","amount_cents":%s}' \
        "$5" "$1" "$3" "$4")"
}

applied_reports() { psql_q "SELECT count(*) FROM distribution.applied_reports WHERE arrangement_id = '$1' AND outcome = 'APPLIED'"; }

# time_passes ARR DAYS: DAYS pass for this arrangement; its timer fires.
time_passes() {
    local before
    before=$(psql_q "SELECT count(*) FROM distribution.history WHERE arrangement_id = '$1'")
    psql_q "BEGIN;
      UPDATE distribution.arrangements SET first_due_date = first_due_date - $2,
        next_due = next_due - $2, open_on = open_on - $2,
        last_reminder = last_reminder - $2, end_date = end_date - $2
        WHERE arrangement_id = '$1';
      UPDATE distribution.instalments SET due_date = due_date - $2
        WHERE arrangement_id = '$1';
      INSERT INTO distribution.timers (arrangement_id, due_at) VALUES ('$1', now())
        ON CONFLICT (arrangement_id) DO UPDATE SET due_at = now();
      COMMIT;" >/dev/null
    # fired: the timer row is rewritten (or gone) and history grew
    for _ in $(seq 1 150); do
        if [[ "$(psql_q "SELECT count(*) FROM distribution.timers WHERE arrangement_id = '$1' AND due_at <= now()")" == 0 &&
            "$(psql_q "SELECT count(*) FROM distribution.history WHERE arrangement_id = '$1'")" != "${before}" ]]; then
            return 0
        fi
        sleep 0.2
    done
    echo "timer of $1 did not fire" >&2
    return 1
}

# delivered ARR: waits until orgsim has every organisation event of ARR
# that distribution wrote to its outbox.
delivered() {
    local want
    want=$(psql_q "SELECT count(*) FROM distribution.outbox WHERE aggregateid = '$1'
                   AND topic LIKE 'brr.organisations.%'")
    wait_for "SELECT count(*) FROM orgsim.received WHERE arrangement_id = '$1'" "${want}" 90 >/dev/null ||
        echo "only $(psql_q "SELECT count(*) FROM orgsim.received WHERE arrangement_id = '$1'") of ${want} delivered" >&2
}

data_of() { # data_of ARR ORG: the CloudEvent data of ORG's last event
    psql_q "SELECT body->'data' FROM orgsim.received WHERE arrangement_id = '$1'
            AND org = '$2' ORDER BY sequence DESC LIMIT 1"
}

last_type() { # last_type ARR ORG
    psql_q "SELECT type FROM orgsim.received WHERE arrangement_id = '$1'
            AND org = '$2' ORDER BY sequence DESC LIMIT 1"
}

calc_split() { # calc_split INSTALMENT CLAIMS-JSON: "ORG:CENTS ..." sorted
    printf '{"instalment_cents":%s,"claims":%s}' "$1" "$2" |
        "${BRRCTL}" calc distribute |
        jq -r '[.shares[] | select(.cents > 0) | "\(.organisation):\(.cents)"] | join(" ")'
}

shares_of() { # shares_of ARR SEQ: "ORG:CENTS ..." of instalment SEQ
    psql_q "SELECT string_agg(organisation || ':' || share_cents, ' ' ORDER BY organisation)
            FROM distribution.instalment_shares WHERE arrangement_id = '$1'
            AND seq = $2 AND share_cents > 0"
}

# ---- 1. apply --------------------------------------------------------------
citizen_bsn=$(bsn)
c_cjib=${run}-CJIB
c_duo=${run}-DUO
c_cak=${run}-CAK
claims=$(printf '[{"organisation":"CJIB","reference":"%s","open_cents":45000,"due_date":"2024-01-10"},{"organisation":"DUO","reference":"%s","open_cents":120000,"due_date":"2023-06-01"},{"organisation":"CAK","reference":"%s","open_cents":5000,"due_date":"2024-03-01"}]' \
    "${c_cjib}" "${c_duo}" "${c_cak}")
app=$(apply "${citizen_bsn}" "${claims}" 12300)
arr=$(arrangement_of "${app}")
echo "arrangement ${arr}"
amount=$(psql_q "SELECT instalment_cents FROM distribution.arrangements WHERE arrangement_id = '${arr}'")
check "arrangement is ACTIEF" ACTIEF \
    "$(psql_q "SELECT state FROM distribution.arrangements WHERE arrangement_id = '${arr}'")"
check "instalment 1 is the split of brrctl calc distribute" \
    "$(calc_split "${amount}" "${claims}")" "$(shares_of "${arr}" 1)"
delivered "${arr}"
for org in CJIB DUO CAK; do
    check "${org} was told of the arrangement" nl.rijksoverheid.brr.arrangement.created \
        "$(last_type "${arr}" "${org}")"
done
# What an organisation needs of the schedule reaches it (connector's data).
d=$(data_of "${arr}" CJIB)
check "CJIB's data: status, current instalment, its due date, the end, first due date, no reminder" \
    "$(psql_q "SELECT a.state || ' ' || a.cur_seq || ' ' || coalesce(i.due_date::text, 'null') || ' ' ||
                      coalesce(a.end_date::text, 'null') || ' ' || coalesce(a.first_due_date::text, 'null') || ' 0'
               FROM distribution.arrangements a LEFT JOIN distribution.instalments i
                 ON i.arrangement_id = a.arrangement_id AND i.seq = a.cur_seq
               WHERE a.arrangement_id = '${arr}'")" \
    "$(jq -r '"\(.status) \(.instalment_seq) \(.due_date) \(.end_date) \(.first_due_date) \(.reminder)"' <<<"${d}")"
check "CJIB's data: its share is the sum of its claims' shares, each claim with balance, share and withdrawn" \
    "true" \
    "$(jq -r '(.instalment_cents > 0) and (.instalment_cents == ([.claims[].share_cents] | add))
              and ([.claims[] | has("reference") and has("open_cents") and has("share_cents")
                    and .withdrawn == false] | all)' <<<"${d}")"
check "CJIB's data names only CJIB's claims" "${c_cjib}" \
    "$(jq -r '[.claims[].reference] | join(",")' <<<"${d}")"

# ---- 2. the same citizen applies again: the arrangement is amended ---------
app2=$(apply "${citizen_bsn}" "$(printf '[{"organisation":"DUO","reference":"%s-2","open_cents":30000,"due_date":"2024-05-01"}]' "${run}-DUO")" 2000)
arr2=$(arrangement_of "${app2}")
check "a second application amends the live arrangement" "${arr}" "${arr2}"
check "one arrangement for the citizen" 1 \
    "$(psql_q "SELECT count(*) FROM distribution.arrangements WHERE citizen_ref =
              (SELECT citizen_ref FROM distribution.arrangements WHERE arrangement_id = '${arr}')")"
check "the amended arrangement holds 4 claims" 4 \
    "$(psql_q "SELECT count(*) FROM distribution.claims WHERE arrangement_id = '${arr}'")"
amount=$(psql_q "SELECT instalment_cents FROM distribution.arrangements WHERE arrangement_id = '${arr}'")
check "the amendment added its instalment" 1 \
    "$(psql_q "SELECT (${amount} > 12300)::int")"
delivered "${arr}"
check "DUO was told of the amendment" nl.rijksoverheid.brr.arrangement.amended \
    "$(last_type "${arr}" DUO)"

# ---- 3. instalment 1 paid through organisation reports ----------------------
share() { psql_q "SELECT coalesce(sum(share_cents), 0) FROM distribution.instalment_shares
                  WHERE arrangement_id = '${arr}' AND seq = $1 AND organisation = '$2' AND reference = '$3'"; }
s_cjib=$(share 1 CJIB "${c_cjib}")
s_duo=$(share 1 DUO "${c_duo}")
s_duo2=$(share 1 DUO "${c_duo}-2")
check "reports accepted (202)" "202 202 202" \
    "$(pay "${arr}" CJIB "${c_cjib}" "${s_cjib}" "${run}-p1") $(pay "${arr}" DUO "${c_duo}" "${s_duo}" "${run}-p2") $(pay "${arr}" CAK "${c_cak}" 5000 "${run}-p3")"
if ((s_duo2 > 0)); then pay "${arr}" DUO "${c_duo}-2" "${s_duo2}" "${run}-p4" >/dev/null; fi
check "the same report again is answered 202" 202 "$(pay "${arr}" CJIB "${c_cjib}" "${s_cjib}" "${run}-p1")"
check "the same report id with another body is 422" 422 "$(pay "${arr}" CJIB "${c_cjib}" 1 "${run}-p1")"
check "a body naming the organisation is 400" 400 \
    "$(report CJIB "$(printf '{"report_id":"x","organisation":"DUO","arrangement_id":"%s","type":"END_REQUESTED"}' "${arr}")")"
check "a report on an unknown arrangement is 404" 404 \
    "$(report CJIB '{"report_id":"y","arrangement_id":"00000000-0000-7000-8000-000000000000","type":"END_REQUESTED"}')"
# DUO cannot pay against CJIB's claim: refused, and DUO is told
pay "${arr}" DUO "${c_cjib}" 100 "${run}-wrong" >/dev/null
want=$((s_duo2 > 0 ? 4 : 3))
wait_for "SELECT count(*) FROM distribution.applied_reports WHERE arrangement_id = '${arr}'" $((want + 1)) >/dev/null || true
check "each report applied once" "${want}" "$(applied_reports "${arr}")"
check "CJIB's claim is lowered once" $((45000 - s_cjib)) \
    "$(psql_q "SELECT open_cents FROM distribution.claims WHERE arrangement_id = '${arr}' AND reference = '${c_cjib}'")"
check "instalment 1 is PAID" PAID \
    "$(psql_q "SELECT state FROM distribution.instalments WHERE arrangement_id = '${arr}' AND seq = 1")"
check "CAK's claim is paid off" 0 \
    "$(psql_q "SELECT open_cents FROM distribution.claims WHERE arrangement_id = '${arr}' AND reference = '${c_cak}'")"
delivered "${arr}"
check "DUO's wrong report is refused back to DUO" 1 \
    "$(psql_q "SELECT count(*) FROM orgsim.received WHERE arrangement_id = '${arr}'
               AND org = 'DUO' AND type = 'nl.rijksoverheid.brr.report.refused'")"
check "the refusal names DUO's report and the reason" \
    "${run}-wrong $(psql_q "SELECT reason FROM distribution.applied_reports
                             WHERE organisation = 'DUO' AND report_id = '${run}-wrong'")" \
    "$(psql_q "SELECT (body->'data'->>'report_id') || ' ' || (body->'data'->>'reason')
               FROM orgsim.received WHERE arrangement_id = '${arr}' AND org = 'DUO'
               AND type = 'nl.rijksoverheid.brr.report.refused'")"

# ---- 4. a month passes: CAK's capacity goes to the others -------------------
days=$(psql_q "SELECT due_date - current_date + 1 FROM distribution.instalments WHERE arrangement_id = '${arr}' AND seq = 1")
time_passes "${arr}" "${days}"
open_now=$(psql_q "SELECT json_agg(json_build_object('organisation', organisation, 'reference', reference,
                   'open_cents', open_cents, 'due_date', due_date) ORDER BY organisation, reference)
                   FROM distribution.claims WHERE arrangement_id = '${arr}' AND open_cents > 0")
check "instalment 2 opened" OPEN \
    "$(psql_q "SELECT state FROM distribution.instalments WHERE arrangement_id = '${arr}' AND seq = 2")"
check "instalment 2 is split over the balances still open" \
    "$(calc_split "${amount}" "${open_now}")" "$(shares_of "${arr}" 2)"
check "CAK has no share any more" 0 \
    "$(psql_q "SELECT coalesce(sum(share_cents), 0) FROM distribution.instalment_shares WHERE arrangement_id = '${arr}' AND seq = 2 AND organisation = 'CAK'")"

# ---- 5. instalment 2 is missed: arrears, reminders, lapse -------------------
days=$(psql_q "SELECT due_date - current_date + 15 FROM distribution.instalments WHERE arrangement_id = '${arr}' AND seq = 2")
time_passes "${arr}" "${days}"
check "missed instalment: ACHTERSTAND, first reminder" "ACHTERSTAND 1" \
    "$(psql_q "SELECT state || ' ' || reminders FROM distribution.arrangements WHERE arrangement_id = '${arr}'")"
check "instalment 2 is MISSED" MISSED \
    "$(psql_q "SELECT state FROM distribution.instalments WHERE arrangement_id = '${arr}' AND seq = 2")"
delivered "${arr}"
for org in CJIB DUO CAK; do
    check "${org} was told of the arrears" nl.rijksoverheid.brr.arrangement.arrears \
        "$(last_type "${arr}" "${org}")"
done
check "CJIB's data: in arrears, first reminder" "ACHTERSTAND 1" \
    "$(jq -r '"\(.status) \(.reminder)"' <<<"$(data_of "${arr}" CJIB)")"
time_passes "${arr}" 15
check "second reminder" "ACHTERSTAND 2" \
    "$(psql_q "SELECT state || ' ' || reminders FROM distribution.arrangements WHERE arrangement_id = '${arr}'")"
delivered "${arr}"
check "CJIB was told of the second reminder" nl.rijksoverheid.brr.arrangement.reminder \
    "$(last_type "${arr}" CJIB)"
check "CJIB's data: second reminder" "ACHTERSTAND 2" \
    "$(jq -r '"\(.status) \(.reminder)"' <<<"$(data_of "${arr}" CJIB)")"
time_passes "${arr}" 31
check "two instalments open after the second reminder: VERVALLEN" VERVALLEN \
    "$(psql_q "SELECT state FROM distribution.arrangements WHERE arrangement_id = '${arr}'")"
check "no timer is left for the lapsed arrangement" 0 \
    "$(psql_q "SELECT count(*) FROM distribution.timers WHERE arrangement_id = '${arr}'")"
delivered "${arr}"
for org in CJIB DUO CAK; do
    check "${org} was told of the lapse" nl.rijksoverheid.brr.arrangement.lapsed \
        "$(last_type "${arr}" "${org}")"
    check "${org} received its remaining balance per claim" \
        "$(psql_q "SELECT string_agg(reference || '=' || open_cents, ',' ORDER BY reference)
                   FROM distribution.claims WHERE arrangement_id = '${arr}' AND organisation = '${org}'")" \
        "$(psql_q "SELECT string_agg((c->>'reference') || '=' || (c->>'open_cents'), ',' ORDER BY c->>'reference')
                   FROM (SELECT body FROM orgsim.received WHERE arrangement_id = '${arr}' AND org = '${org}'
                         ORDER BY sequence DESC LIMIT 1) r,
                        jsonb_array_elements(r.body->'data'->'claims') c")"
done
check "a report on a lapsed arrangement is accepted by intake" 202 \
    "$(pay "${arr}" CJIB "${c_cjib}" 100 "${run}-late")"
check "... and refused by distribution" "REFUSED ARRANGEMENT_CLOSED" \
    "$(wait_for "SELECT outcome || ' ' || reason FROM distribution.applied_reports
                 WHERE organisation = 'CJIB' AND report_id = '${run}-late'" "REFUSED ARRANGEMENT_CLOSED" 30)"

# ---- 6. a second citizen pays everything: VOLDAAN --------------------------
claims_b=$(printf '[{"organisation":"CJIB","reference":"%s-B","open_cents":3000}]' "${run}")
arr_b=$(arrangement_of "$(apply "$(bsn)" "${claims_b}" 2000)")
pay "${arr_b}" CJIB "${run}-B" 3000 "${run}-b1" >/dev/null
wait_for "SELECT state FROM distribution.arrangements WHERE arrangement_id = '${arr_b}'" VOLDAAN >/dev/null || true
check "every balance zero: VOLDAAN" VOLDAAN \
    "$(psql_q "SELECT state FROM distribution.arrangements WHERE arrangement_id = '${arr_b}'")"
delivered "${arr_b}"
check "CJIB was told of the completion" nl.rijksoverheid.brr.arrangement.completed \
    "$(last_type "${arr_b}" CJIB)"

# ---- 7. a third citizen's arrangement ends on request (WSNP) ---------------
claims_c=$(printf '[{"organisation":"DUO","reference":"%s-C","open_cents":90000}]' "${run}")
arr_c=$(arrangement_of "$(apply "$(bsn)" "${claims_c}" 5000)")
"${BRRCTL}" arrangement end "${arr_c}" --reason WSNP >/dev/null
wait_for "SELECT state FROM distribution.arrangements WHERE arrangement_id = '${arr_c}'" BEEINDIGD >/dev/null || true
check "ended on request: BEEINDIGD" "BEEINDIGD WSNP" \
    "$(psql_q "SELECT state || ' ' || coalesce(ended_reason, '') FROM distribution.arrangements WHERE arrangement_id = '${arr_c}'")"
delivered "${arr_c}"
check "DUO was told of the end" nl.rijksoverheid.brr.arrangement.ended "$(last_type "${arr_c}" DUO)"
check "DUO's data: ended, and why" "BEEINDIGD WSNP 0" \
    "$(jq -r '"\(.status) \(.reason) \(.reminder)"' <<<"$(data_of "${arr_c}" DUO)")"

# ---- 8. exactly once, in order, and the history tells it all ----------------
ids="'${arr}', '${arr_b}', '${arr_c}'"
check "every organisation event delivered once" \
    "$(psql_q "SELECT count(*) FROM distribution.outbox WHERE aggregateid IN (${ids}) AND topic LIKE 'brr.organisations.%'")" \
    "$(psql_q "SELECT count(*) FROM orgsim.received WHERE arrangement_id IN (${ids})")"
check "no duplicates at the organisations" 0 \
    "$(psql_q "SELECT count(*) FROM orgsim.duplicates d JOIN orgsim.received r USING (org, event_id) WHERE r.arrangement_id IN (${ids})")"
check "no order violations" 0 \
    "$(psql_q "SELECT count(*) FROM orgsim.order_violations WHERE arrangement_id IN (${ids})")"
check "no organisation was told another organisation's report id" 0 \
    "$(psql_q "SELECT count(*) FROM orgsim.received r WHERE r.arrangement_id IN (${ids})
               AND r.body->'data' ? 'report_id' AND NOT EXISTS (SELECT 1 FROM
               distribution.applied_reports p WHERE p.organisation = r.org
               AND p.report_id = r.body->'data'->>'report_id')")"
check "every event's data has the organisation's whole part" 0 \
    "$(psql_q "SELECT count(*) FROM orgsim.received WHERE arrangement_id IN (${ids})
               AND NOT (body->'data' ?& ARRAY['arrangement_id', 'organisation', 'status',
                     'instalment_cents', 'months', 'claims', 'instalment_seq', 'reminder'])")"
check "organisations' data holds only their part (no personal data)" "" \
    "$(psql_q "SELECT string_agg(k, ',') FROM (SELECT DISTINCT jsonb_object_keys(body->'data') k
               FROM orgsim.received WHERE arrangement_id IN (${ids})) x WHERE k NOT IN
               ('arrangement_id', 'organisation', 'status', 'instalment_cents', 'months',
                'claims', 'first_due_date', 'pause', 'instalment_seq', 'due_date',
                'end_date', 'reminder', 'report_id', 'reason')")"
check "sequences per organisation are 1..n without gaps" 0 \
    "$(psql_q "SELECT count(*) FROM (SELECT org, arrangement_id, count(*) n, max(sequence) m, min(sequence) f
               FROM orgsim.received WHERE arrangement_id IN (${ids}) GROUP BY 1, 2) x WHERE n <> m OR f <> 1")"
hist=$("${BRRCTL}" arrangement history "${arr}")
for ev in assessment.accepted arrangement.created application.amends report.applied instalment.paid \
    instalment.opened instalment.missed arrangement.arrears arrangement.reminder arrangement.lapsed \
    report.refused organisation.notified; do
    check "history shows ${ev}" 1 "$(grep -c -m1 " ${ev} " <<<"${hist}" || true)"
done
check "history is in order: created before lapsed" 1 \
    "$(psql_q "SELECT (min(id) FILTER (WHERE event_type = 'arrangement.created') <
                       min(id) FILTER (WHERE event_type = 'arrangement.lapsed'))::int
               FROM distribution.history WHERE arrangement_id = '${arr}'")"

echo "checks ${checks}, failed ${failed}"
if ((failed)); then
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
