#!/usr/bin/env bash
# tools/embedded_kafka_test.sh: integration test of brr-embedded-kafka (run
# by ctest as embedded_kafka_smoke).
#
# Usage: tools/embedded_kafka_test.sh PATH-TO-brr-embedded-kafka | --help
#
# Starts the mock broker with one pre-created topic, checks that it publishes
# its bootstrap address, serves metadata with the requested partition count,
# round-trips a keyed message through kcat, auto-creates a topic on produce,
# stops on SIGTERM with exit status 0 and removes the bootstrap file; and
# that bad arguments exit with status 2.
set -euo pipefail

if [[ "${1:-}" == -h || "${1:-}" == --help || $# -ne 1 ]]; then
    sed -n '2,/^[^#]/{/^#/!q;s/^# \{0,1\}//;p}' -- "$0"
    [[ $# -eq 1 ]] && exit 0
    exit 2
fi
bin=$1
tmp=$(mktemp -d)
pid=""
cleanup() {
    if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
        kill -KILL "${pid}" 2>/dev/null || true
    fi
    rm -rf -- "${tmp}"
}
trap cleanup EXIT

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    [[ -s "${tmp}/err" ]] && sed 's/^/  broker: /' "${tmp}/err" >&2
    exit 1
}

for bad in "--topic=bad/name" "--partitions=0" "--brokers=x"; do
    status=0
    "${bin}" "${bad}" "${tmp}/never" >/dev/null 2>&1 || status=$?
    [[ ${status} -eq 2 ]] || fail "'${bad}' exited ${status}, want 2"
done
[[ ! -e "${tmp}/never" ]] || fail "bootstrap file written despite bad args"

"${bin}" --topic smoke.topic:3 "${tmp}/bootstrap" >"${tmp}/out" 2>"${tmp}/err" &
pid=$!
for ((i = 0; i < 100; i++)); do
    [[ -s "${tmp}/bootstrap" ]] && break
    sleep 0.05
done
[[ -s "${tmp}/bootstrap" ]] || fail "no bootstrap file after 5s"
bs=$(<"${tmp}/bootstrap")
[[ "${bs}" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "bootstrap '${bs}' not loopback"
[[ "$(head -n1 "${tmp}/out")" == "${bs}" ]] || fail "stdout differs from file"

md=$(kcat -b "${bs}" -L -m 5 -t smoke.topic) || fail "metadata request failed"
grep -q '^ *1 brokers:' <<<"${md}" || fail "want 1 broker: ${md}"
grep -q 'topic "smoke.topic" with 3 partitions' <<<"${md}" ||
    fail "want smoke.topic with 3 partitions: ${md}"

printf 'payload-1\n' | kcat -b "${bs}" -P -t smoke.topic -k key-1 -p 2 ||
    fail "produce failed"
got=$(kcat -b "${bs}" -C -t smoke.topic -p 2 -o beginning -c 1 -e \
    -f '%k=%s' 2>/dev/null) || fail "consume failed"
[[ "${got}" == "key-1=payload-1" ]] || fail "consumed '${got}'"

printf 'x\n' | kcat -b "${bs}" -P -t smoke.auto || fail "auto-create produce"
kcat -b "${bs}" -L -m 5 -t smoke.auto | grep -q 'topic "smoke.auto" with 4' ||
    fail "auto-created topic does not have 4 partitions"

kill -TERM "${pid}"
status=0
wait "${pid}" || status=$?
pid=""
[[ ${status} -eq 0 ]] || fail "exit status ${status} after SIGTERM"
[[ ! -e "${tmp}/bootstrap" ]] || fail "bootstrap file left after exit"
printf 'ok: brr-embedded-kafka at %s\n' "${bs}"
