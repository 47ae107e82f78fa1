#!/usr/bin/env bash
# Integration: the pause's durable timers on a controllable clock (issue 5).
#
# The stack's brr-pause is replaced by two instances of brr-pause-testclock
# (the same service built with the test-only clock, reading "now" from a
# file) with the policy's effect set to RESPREAD and no minimum gap; the
# debt counsellor is channel-SCHULDHULP (scripts/pki), a counsellor's
# channel for brr-intake and brr-pause by default, asking for pauses of
# arrangements CJIB applied for.  Then:
#
#   - a pause is scheduled next month; both instances are killed with
#     SIGKILL before it is due, the clock moves past its start while they
#     are down (and a request for a new arrangement waits for them), both
#     start again: exactly one pause.started is produced,
#     brr-distribution applied it once and every organisation got exactly
#     one notice; RESPREAD raised the instalment and kept the end date,
#     and each notice names the first instalment after the pause with the
#     organisation's share of the raised instalment per claim;
#   - the count (a third pause) and the total months (3 + 4 by a debt
#     counsellor) are refused with their figures; a debt counsellor may
#     ask 4 months, not 5;
#   - the clock moves past the end: exactly one pause.ended, every
#     organisation told once, the arrangement active again.
#
# No assertion depends on timing: the clock only moves when the test says
# so, and every wait polls state with a generous bound.  At the end the
# stack's own brr-pause is started again (scripts/stack start).
#
# Usage: pause_clock.sh <brr-pause-testclock>   (stack env exported)
source "$(dirname -- "${BASH_SOURCE[0]}")/pause_lib.sh"
TESTCLOCK=${1:?usage: pause_clock.sh <brr-pause-testclock>}
off=$((${BRR_STACK:-0} * 10))
port_a=$((8084 + off)) port_b=$((8086 + off))
clockf=${BRR_RUN_DIR}/pause-testclock.now
pidf=${BRR_RUN_DIR}/pause.pid
declare -A tc_pid=()

start_tc() { # start_tc NAME PORT: one brr-pause-testclock, until ready
    BRR_ADMIN_PORT=$2 BRR_INSTANCE_ID="brr-pause-testclock-$1" \
        BRR_TEST_CLOCK_FILE="${clockf}" BRR_PAUSE_EFFECT=RESPREAD \
        BRR_PAUSE_MIN_GAP=0 BRR_PAUSE_TICK_MS=200 \
        "${TESTCLOCK}" >>"${BRR_LOG_DIR}/pause-testclock-$1.log" 2>&1 &
    tc_pid[$1]=$!
    # ready as a consumer (only one instance holds the outbox relay)
    wait_for 120 "brr-pause-testclock $1 consuming" consuming "$2"
}
consuming() {
    curl -sS "http://127.0.0.1:$1/readyz" 2>/dev/null |
        jq -e ".checks.postgres and .checks.kafka" >/dev/null
}
kill_tc() { # kill_tc NAME: SIGKILL, and wait until it is gone
    local pid=${tc_pid[$1]:-}
    [[ -n "${pid}" ]] || return 0
    kill -KILL "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
    tc_pid[$1]=
}
cleanup() {
    kill_tc a
    kill_tc b
    rm -f -- "${clockf}"
    "${BRR_REPO}/scripts/stack" start >/dev/null 2>&1 ||
        echo "pause_clock: scripts/stack start failed" >&2
}
trap cleanup EXIT
set_clock() { echo "$1" >"${clockf}"; } # unix seconds
# at DATE: 01:00 Europe/Amsterdam on DATE, in unix seconds
at() { TZ=Europe/Amsterdam date -d "$1 01:00" +%s; }
d() { date -d "$1" +%F; }
count_out() { # count_out PID TYPE: rows of TYPE brr-pause produced for PID
    psql_q "SELECT count(*) FROM pause.outbox WHERE aggregateid = '$1' AND type = '$2'"
}

m1=$(date -d "$(TZ=Europe/Amsterdam date +%Y-%m-01) +1 month" +%F)
set_clock "$(date +%s)"

# Replace the stack's brr-pause by two test-clock instances.
pid=$(cat "${pidf}" 2>/dev/null || true)
if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
    kill -KILL "${pid}"
    while kill -0 "${pid}" 2>/dev/null; do sleep 0.2; done
fi
start_tc a "${port_a}"
start_tc b "${port_b}"
say "brr-pause-testclock running twice (pids ${tc_pid[a]} ${tc_pid[b]})"

arr=$(arrangement_of "$(submit CJIB DUO CAK)")
arr2=$(arrangement_of "$(submit CJIB DUO)")
arr3=$(arrangement_of "$(submit DUO)")
for a in "${arr}" "${arr2}" "${arr3}"; do
    wait_for 120 "brr-pause to know ${a}" known "${a}"
done
amount_before=$(arr_col "${arr}" instalment_cents)
end_before=$(arr_col "${arr}" end_date)

# ---- a pause next month; brr-pause down across its start ----
ps=$(d "${m1} +1 month") pe=$(d "${m1} +2 months -1 day")
p1=$(pause_post "${arr}" "${ps}" "${pe}") || fail "pause not accepted"
wait_for 120 "the pause to be scheduled" pause_is "${p1}" scheduled
check "not started before its day" test "$(count_out "${p1}" pause.started)" = 0
kill_tc a
kill_tc b
# While brr-pause is down, a new arrangement and a pause request for it:
# both wait on their topics, and brr-pause may see the request before the
# arrangement (it holds the request until the arrangement is known).
arr4=$(arrangement_of "$(submit DUO)")
p4=$(pause_post "${arr4}" "$(d "${m1} +3 months")" "$(d "${m1} +3 months +9 days")") ||
    fail "pause for ${arr4} not accepted"
set_clock "$(at "${ps}")"
say "killed both instances; the clock is now ${ps} 01:00 Europe/Amsterdam"
start_tc a "${port_a}"
start_tc b "${port_b}"
wait_for 120 "the pause to start after the restart" pause_is "${p1}" started
wait_for 180 "every organisation told of the start" all_told_at_least "${arr}" arrangement.paused
check "exactly one pause.started produced" test "$(count_out "${p1}" pause.started)" = 1
check "brr-distribution applied the start once" sql_true \
    "SELECT count(*) = 1 FROM distribution.history WHERE arrangement_id = '${arr}' AND event_type = 'pause.started'"
check "every organisation got exactly one notice ($(notices "${arr}" arrangement.paused))" \
    all_told "${arr}" arrangement.paused 1
check "RESPREAD: the instalment rose above ${amount_before}" sql_true \
    "SELECT instalment_cents > ${amount_before} FROM distribution.arrangements WHERE arrangement_id = '${arr}'"
check "RESPREAD: the end date stays at or before ${end_before}" sql_true \
    "SELECT end_date <= '${end_before}' FROM distribution.arrangements WHERE arrangement_id = '${arr}'"
check "the start notice names the first instalment after the pause ($(d "${pe} +1 day")) with each claim's share" \
    resume_ok "${arr}" arrangement.paused "$(d "${pe} +1 day")"
check "the shares told at the start add up to the raised instalment" test \
    "$(resume_sum "${arr}" arrangement.paused)" = "$(arr_col "${arr}" instalment_cents)"

wait_for 120 "the request sent while brr-pause was down to be scheduled" \
    pause_is "${p4}" scheduled

# ---- count, total, a debt counsellor's length ----
p2=$(pause_post "${arr}" "$(d "${m1} +3 months")" "$(d "${m1} +3 months +14 days")") ||
    fail "second pause not accepted"
wait_for 120 "the second pause to be scheduled" pause_is "${p2}" scheduled
expect_refused "${arr}" "$(d "${m1} +5 months")" "$(d "${m1} +5 months +14 days")" \
    pause.max_count 2 3
q1=$(pause_post "${arr2}" "$(d "${m1} +1 month")" "$(d "${m1} +4 months -1 day")") ||
    fail "3-month pause not accepted"
wait_for 120 "the 3-month pause to be decided" sql_true \
    "SELECT state IN ('scheduled', 'started') FROM intake.arrangement_pauses WHERE pause_id = '${q1}'"
expect_refused "${arr2}" "$(d "${m1} +5 months")" "$(d "${m1} +9 months -1 day")" \
    pause.max_total_months 6 7 channel-SCHULDHULP
expect_refused "${arr3}" "$(d "${m1} +1 month")" "$(d "${m1} +6 months -1 day")" \
    pause.max_length_months 4 5 channel-SCHULDHULP
q3=$(pause_post "${arr3}" "$(d "${m1} +1 month")" "$(d "${m1} +5 months -1 day")" \
    channel-SCHULDHULP) || fail "a counsellor's 4 months not accepted"
wait_for 120 "a debt counsellor's 4 months to be accepted" sql_true \
    "SELECT state IN ('scheduled', 'started') FROM intake.arrangement_pauses WHERE pause_id = '${q3}'"
check "the debt counsellor reads the pause it asked for (200)" test \
    "$(status_of "$(api channel-SCHULDHULP GET "/v1/arrangements/${arr3}/pauses/${q3}")")" = 200

# ---- the end ----
set_clock "$(at "$(d "${pe} +1 day")")"
wait_for 120 "the pause to end" pause_is "${p1}" ended
wait_for 120 "the arrangement to be active again" sql_true \
    "SELECT state = 'ACTIEF' FROM distribution.arrangements WHERE arrangement_id = '${arr}'"
wait_for 180 "every organisation told of the end" all_told_at_least "${arr}" arrangement.resumed
check "exactly one pause.ended produced" test "$(count_out "${p1}" pause.ended)" = 1
check "every organisation told of the end exactly once ($(notices "${arr}" arrangement.resumed))" \
    all_told "${arr}" arrangement.resumed 1
check "the end notice names the first instalment after the pause with each claim's share" \
    resume_ok "${arr}" arrangement.resumed "$(d "${pe} +1 day")"
check "the second pause still waits for its day" pause_is "${p2}" scheduled
finish
