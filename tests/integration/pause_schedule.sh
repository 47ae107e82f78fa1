#!/usr/bin/env bash
# Integration: what a pause does to the schedule, month by month, on the
# test-only clock of both brr-pause and brr-distribution (issue 5).
#
# The stack's brr-pause and brr-distribution are replaced by
# brr-pause-testclock (effect RESPREAD, no minimum gap) and
# brr-distribution-testclock, reading "now" from one file; the clock only
# moves when the test says so.  Three new arrangements, all due on the
# same days D1, D2, D3 (the first three due dates):
#
#   A  paused D1 .. D3-1 and left to run: its instalments due D1 and D2 are
#      PAUSED, never MISSED, and no reminder or lapse runs while its
#      instalments are weeks overdue; the instalment due D3 opens during
#      the pause and asks money; RESPREAD raised the instalment and kept
#      the end date; every organisation was told at the start and at the
#      end, exactly once, the first instalment after the pause (D3) and
#      its share of it, per claim, which is exactly what D3 asks of it;
#   B  the same pause cancelled on D1+10: the instalment due D2 asks money
#      again, RESPREAD brings the instalment down (never below the one
#      from before the pause, the end date kept), every organisation is
#      told its share of it; later D2 goes unpaid and B falls into arrears
#      (the lifecycle runs again after a pause);
#   C  not paused, falls into arrears after D1 (the lifecycle runs on this
#      clock); its pause scheduled for D2 then reaches its start:
#      brr-distribution ignores it and says so, brr-pause marks it
#      IGNORED (not RUNNING), its end never fires, intake's read model and
#      GET show it "ignored" with the reason, nobody is told of a pause;
#   E  paused D1 .. D1+9 and again D1+10 .. D1+19: the first pause's end and
#      the second's start fall due at the same instant and fire in that
#      order: E stays paused under the second, every organisation is told
#      of each start and each end exactly once.
#
# At the end the stack's own services are started again.
#
# Usage: pause_schedule.sh <brr-pause-testclock> <brr-distribution-testclock>
#        (stack env exported)
source "$(dirname -- "${BASH_SOURCE[0]}")/pause_lib.sh"
PAUSE_TC=${1:?usage: pause_schedule.sh <brr-pause-testclock> <brr-distribution-testclock>}
DIST_TC=${2:?usage: pause_schedule.sh <brr-pause-testclock> <brr-distribution-testclock>}
off=$((${BRR_STACK:-0} * 10))
clockf=${BRR_RUN_DIR}/schedule-testclock.now
declare -A tc_pid=()

stop_stack_proc() { # stop_stack_proc NAME: the stack's own process
    local pid
    pid=$(cat "${BRR_RUN_DIR}/$1.pid" 2>/dev/null || true)
    [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null || return 0
    kill -TERM "${pid}"
    for _ in $(seq 1 150); do
        kill -0 "${pid}" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -KILL "${pid}" 2>/dev/null || true
}
consuming() {
    curl -sS "http://127.0.0.1:$1/readyz" 2>/dev/null |
        jq -e ".checks.postgres and .checks.kafka" >/dev/null
}
start_tc() { # start_tc NAME BINARY PORT [ENV...]: until ready
    local name=$1 bin=$2 port=$3
    shift 3
    env BRR_ADMIN_PORT="${port}" BRR_TEST_CLOCK_FILE="${clockf}" "$@" \
        "${bin}" >>"${BRR_LOG_DIR}/${name}-testclock.log" 2>&1 &
    tc_pid[${name}]=$!
    wait_for 120 "${name} on the test clock consuming" consuming "${port}"
}
cleanup() {
    local n
    for n in "${!tc_pid[@]}"; do
        kill -KILL "${tc_pid[${n}]}" 2>/dev/null || true
        wait "${tc_pid[${n}]}" 2>/dev/null || true
    done
    rm -f -- "${clockf}"
    "${BRR_REPO}/scripts/stack" start >/dev/null 2>&1 ||
        echo "pause_schedule: scripts/stack start failed" >&2
}
trap cleanup EXIT
set_clock() { echo "$1" >"${clockf}"; }
at() { TZ=Europe/Amsterdam date -d "$1 01:00" +%s; } # 01:00 Amsterdam
d() { date -d "$1" +%F; }
count_out() { psql_q "SELECT count(*) FROM pause.outbox WHERE aggregateid = '$1' AND type = '$2'"; }
dist_state() { [[ "$(arr_col "$1" state)" == "$2" ]]; }
# inst ARR DUE: "seq state" of the instalment due on DUE ("" if none)
inst() { psql_q "SELECT seq || ' ' || state FROM distribution.instalments WHERE arrangement_id = '$1' AND due_date = '$2'"; }
inst_is() { [[ "$(inst "$1" "$2" | cut -d' ' -f2)" == "$3" ]]; }
inst_seq() { inst "$1" "$2" | cut -d' ' -f1; }
# quiet ARR: no MISSED instalment, no reminder, arrears or lapse, ever
quiet() {
    sql_true "SELECT NOT EXISTS (SELECT 1 FROM distribution.instalments WHERE arrangement_id = '$1' AND state = 'MISSED') AND NOT EXISTS (SELECT 1 FROM distribution.history WHERE arrangement_id = '$1' AND event_type IN ('arrangement.arrears', 'arrangement.reminder', 'arrangement.lapsed', 'instalment.missed')) AND (SELECT reminders = 0 FROM distribution.arrangements WHERE arrangement_id = '$1')"
}
inst_total() { psql_q "SELECT coalesce(sum(share_cents), 0) FROM distribution.instalment_shares WHERE arrangement_id = '$1' AND seq = $2"; }

# ---- the services on the test clock ----
set_clock "$(date +%s)"
stop_stack_proc pause
stop_stack_proc distribution
start_tc distribution "${DIST_TC}" $((8083 + off)) BRR_DIST_TICK_MS=200
start_tc pause "${PAUSE_TC}" $((8084 + off)) BRR_PAUSE_EFFECT=RESPREAD \
    BRR_PAUSE_MIN_GAP=0 BRR_PAUSE_TICK_MS=200
say "brr-distribution-testclock and brr-pause-testclock running"

A=$(arrangement_of "$(submit CJIB DUO CAK)")
B=$(arrangement_of "$(submit CJIB DUO)")
C=$(arrangement_of "$(submit DUO CAK)")
E=$(arrangement_of "$(submit CJIB DUO)")
for x in "${A}" "${B}" "${C}" "${E}"; do
    wait_for 120 "brr-pause to know ${x}" known "${x}"
done
D1=$(arr_col "${A}" first_due_date)
D2=$(d "${D1} +1 month") D3=$(d "${D1} +2 months")
check "A, B and C are due on the same days (${D1}, due day 1..28)" sql_true \
    "SELECT count(DISTINCT first_due_date) = 1 AND max(due_day) <= 28 FROM distribution.arrangements WHERE arrangement_id IN ('${A}', '${B}', '${C}', '${E}')"
amount0_A=$(arr_col "${A}" instalment_cents) end0_A=$(arr_col "${A}" end_date)
amount0_B=$(arr_col "${B}" instalment_cents) end0_B=$(arr_col "${B}" end_date)
say "A ${A}, B ${B}, C ${C}, E ${E}; due ${D1}, ${D2}, ${D3}"

pe=$(d "${D3} -1 day")
PA=$(pause_post "${A}" "${D1}" "${pe}") || fail "pause of A not accepted"
PB=$(pause_post "${B}" "${D1}" "${pe}") || fail "pause of B not accepted"
PC=$(pause_post "${C}" "${D2}" "$(d "${D2} +9 days")") || fail "pause of C not accepted"
QE1=$(pause_post "${E}" "${D1}" "$(d "${D1} +9 days")") || fail "first pause of E not accepted"
wait_for 120 "E's first pause to be scheduled" pause_is "${QE1}" scheduled
QE2=$(pause_post "${E}" "$(d "${D1} +10 days")" "$(d "${D1} +19 days")") ||
    fail "second pause of E not accepted"
for p in "${PA}" "${PB}" "${PC}" "${QE2}"; do
    wait_for 120 "pause ${p} to be scheduled" pause_is "${p}" scheduled
done

# ---- D1: A and B pause; RESPREAD; everybody told the new schedule ----
set_clock "$(at "${D1}")"
say "clock: ${D1}"
wait_for 120 "A's pause to start" pause_is "${PA}" started
wait_for 120 "B's pause to start" pause_is "${PB}" started
wait_for 120 "A paused" dist_state "${A}" GEPAUZEERD
wait_for 120 "B paused" dist_state "${B}" GEPAUZEERD
check "A's instalment due ${D1} is PAUSED" inst_is "${A}" "${D1}" PAUSED
amount_A=$(arr_col "${A}" instalment_cents)
amount_B=$(arr_col "${B}" instalment_cents)
check "RESPREAD: A's instalment rose (${amount0_A} -> ${amount_A})" test "${amount_A}" -gt "${amount0_A}"
check "RESPREAD: A's end date stays at or before ${end0_A}" sql_true \
    "SELECT end_date <= '${end0_A}' FROM distribution.arrangements WHERE arrangement_id = '${A}'"
wait_for 180 "A's organisations told of the start" all_told_at_least "${A}" arrangement.paused
check "A's organisations told of the start exactly once ($(notices "${A}" arrangement.paused))" \
    all_told "${A}" arrangement.paused 1
check "A's start notices name ${D3}, the first instalment after the pause, with each claim's share" \
    resume_ok "${A}" arrangement.paused "${D3}"
check "A's start notices: the shares told add up to the raised instalment (${amount_A})" \
    test "$(resume_sum "${A}" arrangement.paused)" = "${amount_A}"
wait_for 180 "B's organisations told of the start" all_told_at_least "${B}" arrangement.paused
wait_for 120 "E paused" dist_state "${E}" GEPAUZEERD

# ---- D1+10: B's pause is cancelled ----
set_clock "$(at "$(d "${D1} +10 days")")"
say "clock: $(d "${D1} +10 days")"
wait_for 120 "A's instalment due ${D2} to open, PAUSED" inst_is "${A}" "${D2}" PAUSED
wait_for 120 "B's instalment due ${D2} to open, PAUSED" inst_is "${B}" "${D2}" PAUSED
wait_for 120 "C's instalment due ${D2} to open" inst_is "${C}" "${D2}" OPEN
check "DELETE of B's running pause answers 202" test "$(pause_cancel "${B}" "${PB}")" = 202
wait_for 120 "B's pause to be cancelled" pause_is "${PB}" cancelled
wait_for 120 "B active again" dist_state "${B}" ACTIEF
check "B's instalment due ${D2}, after the day the pause ended, asks money again" \
    inst_is "${B}" "${D2}" OPEN
check "B's instalment due ${D1} stays PAUSED" inst_is "${B}" "${D1}" PAUSED
amount_B2=$(arr_col "${B}" instalment_cents)
check "RESPREAD cut short: B's instalment came down (${amount_B} -> ${amount_B2})" \
    test "${amount_B2}" -lt "${amount_B}"
check "RESPREAD cut short: never below the instalment before the pause (${amount0_B})" \
    test "${amount_B2}" -ge "${amount0_B}"
check "RESPREAD cut short: B's end date stays at or before ${end0_B}" sql_true \
    "SELECT end_date <= '${end0_B}' FROM distribution.arrangements WHERE arrangement_id = '${B}'"
seqB=$(inst_seq "${B}" "${D2}")
check "B's instalment due ${D2} asks the new instalment" test "$(inst_total "${B}" "${seqB}")" = "${amount_B2}"
wait_for 180 "B's organisations told of the end" all_told_at_least "${B}" arrangement.resumed
check "B's organisations told of the end exactly once ($(notices "${B}" arrangement.resumed))" \
    all_told "${B}" arrangement.resumed 1
check "B's end notices name ${D2} with each claim's share" resume_ok "${B}" arrangement.resumed "${D2}"
check "B's end notices: each claim's share is what ${D2} asks of it" \
    resume_is_inst "${B}" arrangement.resumed "${seqB}"
wait_for 120 "E's first pause to end" pause_is "${QE1}" ended
wait_for 120 "E's second pause to start" pause_is "${QE2}" started
wait_for 180 "E's organisations told of the first end" all_told_at_least "${E}" arrangement.resumed
wait_for 180 "E's organisations told of the second start" all_told "${E}" arrangement.paused 2
check "E is paused under its second pause" sql_true \
    "SELECT state = 'GEPAUZEERD' AND pause_id = '${QE2}' FROM distribution.arrangements WHERE arrangement_id = '${E}'"
check "E's organisations told of the first end exactly once, in between ($(notices "${E}" arrangement.resumed))" \
    all_told "${E}" arrangement.resumed 1
check "E's organisations: the end before the second start" sql_true \
    "SELECT bool_and(x.resumed < x.paused2) AND count(*) > 0 FROM (SELECT org, min(sequence) FILTER (WHERE type LIKE '%.resumed') AS resumed, max(sequence) FILTER (WHERE type LIKE '%.paused') AS paused2 FROM orgsim.received WHERE arrangement_id = '${E}' GROUP BY org) x"

# ---- D1+16: C (unpaused) in arrears, A quiet ----
set_clock "$(at "$(d "${D1} +16 days")")"
say "clock: $(d "${D1} +16 days")"
wait_for 120 "C, not paused, to fall into arrears" dist_state "${C}" ACHTERSTAND
check "A, paused, is still paused" dist_state "${A}" GEPAUZEERD
check "A: no instalment MISSED, no reminder, arrears or lapse" quiet "${A}"
check "E, paused, is still paused, quiet" quiet "${E}"

# ---- D2: C's pause reaches its start, in arrears ----
set_clock "$(at "${D2}")"
say "clock: ${D2}"
wait_for 120 "C's pause to be marked ignored" pause_is "${PC}" ignored
check "brr-pause: IGNORED, not RUNNING, with the reason" sql_true \
    "SELECT state = 'IGNORED' AND refusal->>'limit' = 'pause.arrangement_state' AND refusal->>'detail' LIKE '%ACHTERSTAND%' FROM pause.pauses WHERE pause_id = '${PC}'"
check "exactly one pause.started and one pause.ignored produced for it" test \
    "$(count_out "${PC}" pause.started) $(count_out "${PC}" pause.ignored)" = "1 1"
check "brr-distribution answered exactly once (arrangement.pause_ignored)" sql_true \
    "SELECT count(*) = 1 FROM distribution.outbox WHERE aggregateid = '${C}' AND type = 'arrangement.pause_ignored'"
check "its end timer is gone" sql_true "SELECT count(*) = 0 FROM pause.timers WHERE pause_id = '${PC}'"
out=$(api channel-CJIB GET "/v1/arrangements/${C}/pauses/${PC}")
check "GET of the pause: 200, ignored, naming pause.arrangement_state" test \
    "$(status_of "${out}") $(body_of "${out}" | jq -r '.state + " " + .refusal.limit')" = \
    "200 ignored pause.arrangement_state"
out=$(api channel-CJIB GET "/v1/arrangements/${C}")
check "GET of the arrangement: in arrears, its pause ignored" test \
    "$(body_of "${out}" | jq -r "[.state, (.pauses[] | select(.pause_id == \"${PC}\") | .state)] | join(\" \")")" = \
    "ACHTERSTAND ignored"
check "C stays in arrears" dist_state "${C}" ACHTERSTAND
check "nobody of C was told of a pause" sql_true \
    "SELECT count(*) = 0 FROM orgsim.received WHERE arrangement_id = '${C}' AND type IN ('nl.rijksoverheid.brr.arrangement.paused', 'nl.rijksoverheid.brr.arrangement.resumed')"
check "cancelling the ignored pause is 409" test "$(pause_cancel "${C}" "${PC}")" = 409
wait_for 120 "E's second pause to end" pause_is "${QE2}" ended
wait_for 120 "E active again" dist_state "${E}" ACTIEF
wait_for 180 "E's organisations told of the second end" all_told "${E}" arrangement.resumed 2
check "E's organisations told of each start and end exactly once" all_told "${E}" arrangement.paused 2

# ---- D2+16: B in arrears after its pause; A quiet, D3 open ----
set_clock "$(at "$(d "${D2} +16 days")")"
say "clock: $(d "${D2} +16 days")"
wait_for 120 "B, its ${D2} unpaid, to fall into arrears" dist_state "${B}" ACHTERSTAND
wait_for 120 "A's instalment due ${D3} (after the pause) to open, asking money" \
    inst_is "${A}" "${D3}" OPEN
check "A's instalment due ${D2} is PAUSED" inst_is "${A}" "${D2}" PAUSED
check "A, paused, is still paused" dist_state "${A}" GEPAUZEERD
check "A: no instalment MISSED, no reminder, arrears or lapse" quiet "${A}"
seqA=$(inst_seq "${A}" "${D3}")
check "A's instalment due ${D3} asks the raised instalment" test "$(inst_total "${A}" "${seqA}")" = "${amount_A}"
check "what A's organisations were told at the start is what ${D3} asks of each claim" \
    resume_is_inst "${A}" arrangement.paused "${seqA}"
check "C's pause never ended (no pause.ended)" test "$(count_out "${PC}" pause.ended)" = 0

# ---- D3: A's pause ends ----
set_clock "$(at "${D3}")"
say "clock: ${D3}"
wait_for 120 "A's pause to end" pause_is "${PA}" ended
wait_for 120 "A active again" dist_state "${A}" ACTIEF
wait_for 180 "A's organisations told of the end" all_told_at_least "${A}" arrangement.resumed
check "exactly one pause.ended for A" test "$(count_out "${PA}" pause.ended)" = 1
check "A's organisations told of the end exactly once ($(notices "${A}" arrangement.resumed))" \
    all_told "${A}" arrangement.resumed 1
check "and of the start still exactly once" all_told "${A}" arrangement.paused 1
check "A's end notices name ${D3} with each claim's share" resume_ok "${A}" arrangement.resumed "${D3}"
check "A's end notices: each claim's share is what ${D3} asks of it" \
    resume_is_inst "${A}" arrangement.resumed "${seqA}"
check "RESPREAD ran its full length: A's instalment unchanged at the end (${amount_A})" \
    test "$(arr_col "${A}" instalment_cents)" = "${amount_A}"
check "A: no instalment MISSED, no reminder, arrears or lapse" quiet "${A}"
check "A's instalments due ${D1} and ${D2} are PAUSED" test \
    "$(inst "${A}" "${D1}" | cut -d' ' -f2) $(inst "${A}" "${D2}" | cut -d' ' -f2)" = "PAUSED PAUSED"
finish
