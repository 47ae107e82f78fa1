#!/usr/bin/env bash
# Integration: the payment pause through the API on the running stack
# (issue 5), with brr-pause's real clock and the default policy (EXTEND).
#
#   - intake refuses malformed requests with problem+json naming the field;
#   - brr-pause refuses what breaks a limit, and GET .../pauses/{id}
#     answers 422 naming the limit and the figures: length, how far ahead,
#     retroactive, overlap, gap;
#   - a pause from today starts: the arrangement is GEPAUZEERD, its open
#     instalment PAUSED (never MISSED), the instalment unchanged and the end
#     date later (EXTEND), and every organisation got exactly one notice;
#   - cancelling the running pause resumes the arrangement and tells every
#     organisation exactly once; cancelling it again is 409;
#   - a scheduled pause cancelled before its start never reaches anyone;
#   - a channel may pause only its own applications' arrangements: another
#     channel's POST and DELETE answer 404 "no such arrangement" and store
#     and publish nothing; a debt counsellor's channel (SCHULDHULP) may ask
#     for any, reads what it asked for, and submits no applications (403).
#
# Usage: pause_api.sh   (stack env exported)
source "$(dirname -- "${BASH_SOURCE[0]}")/pause_lib.sh"

today=$(TZ=Europe/Amsterdam date +%F)
m1=$(date -d "$(TZ=Europe/Amsterdam date +%Y-%m-01) +1 month" +%F) # next 1st
d() { date -d "$1" +%F; }

arr=$(arrangement_of "$(submit CJIB DUO)")
arr2=$(arrangement_of "$(submit CJIB CAK)")
say "arrangements ${arr} and ${arr2}"
wait_for 120 "brr-pause to know ${arr}" known "${arr}"
wait_for 120 "brr-pause to know ${arr2}" known "${arr2}"

# ---- intake: the fields ----
out=$(api channel-CJIB POST "/v1/arrangements/${arr}/pauses" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: $(uuid)" \
    -d "{\"start_date\":\"$(d "${m1} +9 days")\",\"end_date\":\"${m1}\",\"reason\":\"x\",\"bsn\":\"1\"}")
check "400 problem+json for end before start and an unknown field" \
    test "$(status_of "${out}")" = 400
check "the problem names end_date and the unknown field" test \
    "$(body_of "${out}" | jq -r '[.errors[].field] | sort | join(",")')" = "bsn,end_date"
out=$(api channel-CJIB POST "/v1/arrangements/${arr}/pauses" \
    -H 'Content-Type: application/json' \
    -d "{\"start_date\":\"${m1}\",\"end_date\":\"${m1}\",\"reason\":\"x\"}")
check "400 without an Idempotency-Key" test "$(status_of "${out}")" = 400

# ---- who may pause: the owner, or a debt counsellor ----
# outbox_n ARR: pause requests intake recorded for ARR (published or not)
outbox_n() { psql_q "SELECT count(*) FROM intake.outbox WHERE aggregateid = '$1' AND type LIKE 'pause.%'"; }
# stored_n KEY: Idempotency-Key rows of KEY, any channel
stored_n() { psql_q "SELECT count(*) FROM intake.idempotency_keys WHERE key = '$1'"; }
not_found() { # not_found OUTPUT: 404 problem+json "no such arrangement"
    [[ "$(status_of "$1")" == 404 &&
        "$(body_of "$1" | jq -r '.status, .detail' | paste -sd' ')" == "404 no such arrangement" ]]
}
ob0=$(outbox_n "${arr}")
k=$(uuid)
out=$(api channel-BELASTINGDIENST POST "/v1/arrangements/${arr}/pauses" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: ${k}" \
    -d "{\"start_date\":\"${m1}\",\"end_date\":\"$(d "${m1} +9 days")\",\"reason\":\"not mine\"}")
check "BELASTINGDIENST pausing CJIB's arrangement: 404 no such arrangement" not_found "${out}"
check "the same answer as for an arrangement that does not exist" not_found \
    "$(api channel-BELASTINGDIENST POST "/v1/arrangements/$(uuid)/pauses" \
        -H 'Content-Type: application/json' -H "Idempotency-Key: $(uuid)" \
        -d "{\"start_date\":\"${m1}\",\"end_date\":\"$(d "${m1} +9 days")\",\"reason\":\"x\"}")"
check "nothing of it stored (Idempotency-Key)" test "$(stored_n "${k}")" = 0
check "nothing of it published (intake.outbox)" test "$(outbox_n "${arr}")" = "${ob0}"
check "BELASTINGDIENST cannot read CJIB's arrangement (404)" test \
    "$(status_of "$(api channel-BELASTINGDIENST GET "/v1/arrangements/${arr}")")" = 404
out=$(api channel-SCHULDHULP POST /v1/applications -H 'Content-Type: application/json' \
    -H "Idempotency-Key: $(uuid)" \
    -d "{\"bsn\":\"$(bsn_new)\",\"kind\":\"standard\",\"consent\":true,\"claims\":[{\"organisation\":\"CJIB\",\"reference\":\"pause-sh-$(uuid | cut -c1-13)\",\"open_cents\":60000}]}")
check "a debt counsellor (SCHULDHULP) submitting an application: 403 problem+json" test \
    "$(status_of "${out}") $(body_of "${out}" | jq -r '.status, .title' | paste -sd' ')" = \
    "403 403 not an applications channel"
check "SCHULDHULP cannot read an arrangement it asked nothing for (404)" test \
    "$(status_of "$(api channel-SCHULDHULP GET "/v1/arrangements/${arr2}")")" = 404
# A counsellor may ask for a pause of any arrangement (this one is refused:
# too far ahead, so it changes nothing below) and reads the refusal back.
expect_refused "${arr2}" "$(d "${m1} +13 months")" "$(d "${m1} +13 months +9 days")" \
    pause.max_ahead_months 12 '*' channel-SCHULDHULP
check "SCHULDHULP now reads the arrangement it asked a pause for (200)" test \
    "$(status_of "$(api channel-SCHULDHULP GET "/v1/arrangements/${arr2}")")" = 200
check "and still not another (404)" test \
    "$(status_of "$(api channel-SCHULDHULP GET "/v1/arrangements/${arr}")")" = 404

# ---- brr-pause: the limits that need no history ----
expect_refused "${arr}" "${m1}" "$(d "${m1} +3 months")" \
    pause.max_length_months 3 4
expect_refused "${arr}" "$(d "${m1} +13 months")" "$(d "${m1} +13 months +9 days")" \
    pause.max_ahead_months 12 '*'
expect_refused "${arr}" "$(d "${today} -40 days")" "${today}" \
    pause.retroactive 1 '*'

# ---- a pause from today: started, EXTEND ----
end_before=$(arr_col "${arr}" end_date)
amount_before=$(arr_col "${arr}" instalment_cents)
pend=$(d "${m1} +1 month -1 day") # the end of next month
pid=$(pause_post "${arr}" "${today}" "${pend}") || fail "pause not accepted"
wait_for 120 "the pause to start" pause_is "${pid}" started
wait_for 120 "the arrangement to be paused" sql_true \
    "SELECT state = 'GEPAUZEERD' FROM distribution.arrangements WHERE arrangement_id = '${arr}'"
check "the open instalment is PAUSED, none MISSED" sql_true \
    "SELECT bool_and(state = 'PAUSED') AND count(*) >= 1 FROM distribution.instalments WHERE arrangement_id = '${arr}' AND due_date BETWEEN '${today}' AND '${pend}'"
check "EXTEND: the instalment is unchanged (${amount_before})" \
    test "$(arr_col "${arr}" instalment_cents)" = "${amount_before}"
check "EXTEND: the end date moved past ${end_before}" sql_true \
    "SELECT end_date > '${end_before}' FROM distribution.arrangements WHERE arrangement_id = '${arr}'"
wait_for 180 "every organisation told of the pause" all_told_at_least "${arr}" arrangement.paused
check "every organisation told of the start exactly once ($(notices "${arr}" arrangement.paused))" \
    all_told "${arr}" arrangement.paused 1
out=$(api channel-CJIB GET "/v1/arrangements/${arr}")
check "GET shows the running pause with its effect" test \
    "$(body_of "${out}" | jq -r ".pauses[] | select(.pause_id == \"${pid}\") | .state + \"/\" + .effect")" = "started/EXTEND"

# ---- limits that see the running pause ----
expect_refused "${arr}" "$(d "${today} +5 days")" "$(d "${today} +9 days")" \
    pause.no_overlap 0 1
expect_refused "${arr}" "$(d "${pend} +2 months")" "$(d "${pend} +2 months +9 days")" \
    pause.min_gap 3 0

# ---- cancel the running pause ----
ob0=$(outbox_n "${arr}")
out=$(api channel-BELASTINGDIENST DELETE "/v1/arrangements/${arr}/pauses/${pid}" \
    -H "Idempotency-Key: ${k}")
check "BELASTINGDIENST cancelling CJIB's pause: 404 no such arrangement" not_found "${out}"
check "nothing of it stored or published" test \
    "$(stored_n "${k}") $(outbox_n "${arr}")" = "0 ${ob0}"
check "the pause still runs" pause_is "${pid}" started
check "DELETE of the running pause answers 202" test "$(pause_cancel "${arr}" "${pid}")" = 202
wait_for 120 "the pause to be cancelled" pause_is "${pid}" cancelled
wait_for 120 "the arrangement to be active again" sql_true \
    "SELECT state = 'ACTIEF' FROM distribution.arrangements WHERE arrangement_id = '${arr}'"
wait_for 180 "every organisation told of the end" all_told_at_least "${arr}" arrangement.resumed
check "every organisation told of the end exactly once ($(notices "${arr}" arrangement.resumed))" \
    all_told "${arr}" arrangement.resumed 1
check "and of the start still exactly once" all_told "${arr}" arrangement.paused 1
check "no instalment of the pause became MISSED" sql_true \
    "SELECT count(*) = 0 FROM distribution.instalments WHERE arrangement_id = '${arr}' AND state = 'MISSED'"
check "cancelling it again is 409" test "$(pause_cancel "${arr}" "${pid}")" = 409
check "no request of another channel reached brr-pause or the read model" sql_true \
    "SELECT count(*) = 0 FROM pause.pauses p WHERE p.arrangement_id = '${arr}' AND (p.channel <> 'CJIB' OR p.reason = 'not mine')"
check "every pause of the read model is one of CJIB's" sql_true \
    "SELECT count(*) = 0 FROM intake.arrangement_pauses i WHERE i.arrangement_id = '${arr}' AND NOT EXISTS (SELECT 1 FROM pause.pauses p WHERE p.pause_id::text = i.pause_id AND p.channel = 'CJIB')"
check "brr-pause produced one started and one ended" sql_true \
    "SELECT count(*) FILTER (WHERE type = 'pause.started') = 1 AND count(*) FILTER (WHERE type = 'pause.ended') = 1 FROM pause.outbox WHERE aggregateid = '${pid}'"

# ---- cancel a scheduled pause before it starts ----
pid2=$(pause_post "${arr2}" "$(d "${m1} +1 month")" "$(d "${m1} +1 month +14 days")") ||
    fail "pause not accepted"
wait_for 120 "the pause to be scheduled" pause_is "${pid2}" scheduled
check "DELETE of the scheduled pause answers 202" test "$(pause_cancel "${arr2}" "${pid2}")" = 202
wait_for 120 "the scheduled pause to be cancelled" pause_is "${pid2}" cancelled
check "its timers are gone" sql_true \
    "SELECT count(*) = 0 FROM pause.timers WHERE pause_id = '${pid2}'"
check "nobody was told of a pause that never ran" sql_true \
    "SELECT count(*) = 0 FROM orgsim.received WHERE arrangement_id = '${arr2}' AND type IN ('nl.rijksoverheid.brr.arrangement.paused', 'nl.rijksoverheid.brr.arrangement.resumed')"

# ---- an arrangement that starts paused (maatwerk below the minimum) ----
key=$(uuid)
out=$(api channel-CJIB POST /v1/applications -H 'Content-Type: application/json' \
    -H "Idempotency-Key: ${key}" \
    -d "{\"bsn\":\"$(bsn_new)\",\"kind\":\"maatwerk\",\"household\":\"single\",\"aow_age\":false,\"net_income_cents\":5000,\"extra_housing_cents\":0,\"consent\":true,\"claims\":[{\"organisation\":\"CJIB\",\"reference\":\"pause-mw-${key:0:13}\",\"open_cents\":60000}]}")
check "a maatwerk application below the minimum is accepted" test "$(status_of "${out}")" = 202
arr3=$(arrangement_of "$(body_of "${out}" | jq -r .application_id)")
wait_for 120 "the arrangement's terms in the read model" sql_true \
    "SELECT EXISTS (SELECT 1 FROM intake.arrangements_view WHERE arrangement_id = '${arr3}')"
out=$(api channel-CJIB GET "/v1/arrangements/${arr3}")
check "it starts paused with no instalment and a review date within 12 months" test \
    "$(body_of "${out}" | jq -r '[.state, .schedule.instalment_cents, (.schedule.review_date != null)] | join(" ")')" = "GEPAUZEERD 0 true"
check "the review date is 12 months on" sql_true \
    "SELECT review_date = ((now() AT TIME ZONE 'Europe/Amsterdam')::date + interval '12 months')::date FROM distribution.arrangements WHERE arrangement_id = '${arr3}'"
expect_refused "${arr3}" "${m1}" "$(d "${m1} +14 days")" pause.arrangement_state 0 0
finish
