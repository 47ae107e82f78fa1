#!/usr/bin/env bash
# Integration: brr-intake's transport limits (issue 7 item 2) and BSN key
# rotation (item 3), on a second brr-intake started here beside the
# stack's (same database, a Kafka address that answers nothing: its own
# consumer and relay stay idle) with tight settings and a rotated key: the
# per-channel rate limit answers 429 with Retry-After and leaves other
# channels alone, and so does each organisation's on /v1/reports; a client that sends its request headers or body too
# slowly is disconnected after the request timeout; a TLS handshake that
# never comes is closed after the handshake timeout; after rotation new
# rows are sealed under the new key id while a citizen stored under the
# old key is still found.
#
# Usage: intake_limits.sh <brr-intake>   (stack env exported)
# check() evaluates its condition later, on purpose (SC2016, SC2034).
# shellcheck disable=SC2016,SC2034
set -euo pipefail
# shellcheck source=intake_lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/intake_lib.sh"
bin=$1
off=$((${BRR_STACK:-0} * 10))
port=$((8449 + off))
admin=$((8089 + off))
log=${BRR_LOG_DIR}/intake-limits.log
stack_url=${BRR_INTAKE_URL}
BRR_INTAKE_URL=https://127.0.0.1:${port}
old_key=${BRR_BSN_KEY_FILE}
new_key=${BRR_VAR}/bsn-k2-test.key
head -c 32 /dev/urandom >"${new_key}"

BRR_INTAKE_LISTEN=127.0.0.1:${port} BRR_ADMIN_PORT=${admin} \
    BRR_KAFKA_BROKERS=127.0.0.1:1 BRR_INSTANCE_ID=intake-limits-test \
    BRR_INTAKE_RATE=1 BRR_INTAKE_BURST=3 \
    BRR_INTAKE_REQUEST_TIMEOUT_MS=1500 BRR_INTAKE_IDLE_TIMEOUT_MS=1500 \
    BRR_INTAKE_HANDSHAKE_TIMEOUT_MS=1500 \
    BRR_BSN_KEY_FILE="${new_key}" BRR_BSN_KEY_ID=k2-test \
    BRR_BSN_PREVIOUS_KEYS="k1=${old_key}" \
    "${bin}" >>"${log}" 2>&1 &
pid=$!
cleanup() {
    kill -TERM "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
    rm -f "${new_key}"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:${admin}/healthz" && break
    sleep 0.1
done

echo "--- rate limit (1 per second, burst 3)"
# Requests sent at once, so that even a slow machine gets them in within
# the few seconds the bucket needs to refill.
burst() { # burst NAME METHOD PATH [curl args]: 8 at once; answers in files
    local name=$1 i pids=()
    shift
    for i in $(seq 1 8); do
        api channel-CJIB "$@" -H "Idempotency-Key: ${name}-$i" \
            -D "${BRR_VAR}/${name}-h.$i" >"${BRR_VAR}/${name}.$i" &
        pids+=($!)
    done
    wait "${pids[@]}" # not the instance under test
}
count() { # count NAME STATUS
    local n=0 i
    for i in $(seq 1 8); do
        [[ $(status_of "$(cat "${BRR_VAR}/$1.$i")") == "$2" ]] && n=$((n + 1))
    done
    echo "${n}"
}
burst rl POST /v1/applications -d '{}'
n400=$(count rl 400) n429=$(count rl 429)
echo "   8 at once: ${n400} x 400, ${n429} x 429"
check '((n400 >= 3 && n429 >= 1 && n400 + n429 == 8))' \
    "the burst passes (to validation: 400), beyond it 429"
ra='' body429=''
for i in $(seq 1 8); do
    if [[ $(status_of "$(cat "${BRR_VAR}/rl.$i")") == 429 ]]; then
        ra=$(grep -i '^retry-after:' "${BRR_VAR}/rl-h.$i" | cut -d' ' -f2 | tr -d '\r')
        body429=$(body_of "$(cat "${BRR_VAR}/rl.$i")")
    fi
done
check '[[ "${ra}" =~ ^[1-9][0-9]*$ ]]' "429 carries Retry-After (${ra} s)"
check '[[ $(jq -r .status <<<"${body429}") == 429 ]]' "429 is problem+json"
burst rd GET /v1/applications/00000000-0000-4000-8000-000000000000
check '(($(count rd 429) >= 1))' "reads count against the same channel's limit"
rm -f "${BRR_VAR}"/rl.* "${BRR_VAR}"/rl-h.* "${BRR_VAR}"/rd.* "${BRR_VAR}"/rd-h.*
out=$(api channel-BELASTINGDIENST POST /v1/applications -H "Idempotency-Key: rl-b" -d '{}')
check '[[ $(status_of "$out") == 400 ]]' "another channel has its own bucket"

echo "--- rate limit on reports, per organisation (1 per second, burst 3)"
# Invalid reports ({}) pass the limiter and are answered 400 without the
# database; beyond the burst the organisation gets 429.
pids=()
for i in $(seq 1 8); do
    api org-CJIB POST /v1/reports -d '{}' -D "${BRR_VAR}/rr-h.$i" \
        >"${BRR_VAR}/rr.$i" &
    pids+=($!)
done
wait "${pids[@]}"
n400=$(count rr 400) n429=$(count rr 429)
echo "   8 reports at once: ${n400} x 400, ${n429} x 429"
check '((n400 >= 3 && n429 >= 1 && n400 + n429 == 8))' \
    "an organisation's report burst passes (to validation: 400), beyond it 429"
ra='' body429=''
for i in $(seq 1 8); do
    if [[ $(status_of "$(cat "${BRR_VAR}/rr.$i")") == 429 ]]; then
        ra=$(grep -i '^retry-after:' "${BRR_VAR}/rr-h.$i" | cut -d' ' -f2 | tr -d '\r')
        body429=$(body_of "$(cat "${BRR_VAR}/rr.$i")")
    fi
done
check '[[ "${ra}" =~ ^[1-9][0-9]*$ ]]' "the report 429 carries Retry-After (${ra} s)"
check '[[ $(jq -r .status <<<"${body429}") == 429 && $(jq -r .detail <<<"${body429}") == *organisation* ]]' \
    "the report 429 is problem+json naming the organisation's limit"
rm -f "${BRR_VAR}"/rr.* "${BRR_VAR}"/rr-h.*
out=$(api org-DUO POST /v1/reports -d '{}')
check '[[ $(status_of "$out") == 400 ]]' "another organisation has its own bucket"

echo "--- timeouts (1.5 s)"
# slow.py MODE: connects with channel-CJIB's certificate and sends a
# request one byte every 0.3 s (headers, or headers then body); prints the
# seconds until the server closed, or "open" if it never did within 12 s.
slow() {
    python3 - "$1" "${port}" "${PKI}" <<'PY'
import socket, ssl, sys, time
mode, port, pki = sys.argv[1], int(sys.argv[2]), sys.argv[3]
raw = socket.create_connection(("127.0.0.1", port))
if mode == "handshake":
    raw.settimeout(12)
    t0 = time.time()
    try:
        data = raw.recv(1)  # never say hello: the server closes
        print("%.1f" % (time.time() - t0) if data == b"" else "data")
    except socket.timeout:
        print("open")
    sys.exit(0)
ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
ctx.load_cert_chain(pki + "/channel-CJIB.crt", pki + "/channel-CJIB.key")
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(raw, server_hostname="localhost")
body = b'{"bsn":"999996708","kind":"standard","claims":[]}'
head = (b"POST /v1/applications HTTP/1.1\r\nHost: localhost\r\n"
        b"Idempotency-Key: slow\r\nContent-Length: %d\r\n\r\n" % len(body))
msg = head + body if mode == "body" else head
fast = len(head) if mode == "body" else 0
s.sendall(msg[:fast])
t0 = time.time()
try:
    for i in range(fast, len(msg)):
        if time.time() - t0 > 12:
            break
        s.sendall(msg[i:i + 1])
        time.sleep(0.3)
    s.settimeout(12 - (time.time() - t0) if time.time() - t0 < 12 else 0.1)
    data = s.recv(4096)
    print("%.1f" % (time.time() - t0) if data == b"" else
          "answered " + data.split(b"\r\n")[0].decode())
except (ssl.SSLError, ConnectionError, BrokenPipeError) as e:
    print("%.1f" % (time.time() - t0))
except socket.timeout:
    print("open")
PY
}
t=$(slow headers)
echo "   slow headers: closed after ${t} s"
check '[[ "${t}" =~ ^[0-9.]+$ ]] && (( ${t%.*} < 10 ))' \
    "headers sent too slowly: disconnected well before they were complete"
t=$(slow body)
echo "   slow body: closed after ${t} s"
check '[[ "${t}" =~ ^[0-9.]+$ ]] && (( ${t%.*} < 10 ))' \
    "a body sent too slowly: disconnected well before it was complete"
t=$(slow handshake)
echo "   no TLS handshake: closed after ${t} s"
check '[[ "${t}" =~ ^[0-9.]+$ ]] && (( ${t%.*} < 10 ))' \
    "a connection that never starts TLS is closed"
sleep 1.1 # one token back
out=$(api channel-CJIB POST /v1/applications --http1.1 -H "Idempotency-Key: rl-ok" -d '{}')
check '[[ $(status_of "$out") == 400 ]]' "a request at normal speed is still served"

echo "--- key rotation (k1 on the stack, k2-test here with k1 readable)"
bsn=$(new_bsn)
run=rot-$(date +%s%N)
app() {
    printf '{"bsn":"%s","kind":"standard","consent":true,"contact":{"email":"rot@example.nl"},"claims":[{"organisation":"CJIB","reference":"%s","open_cents":4000}]}' "${bsn}" "$1"
}
out=$(BRR_INTAKE_URL=${stack_url} api channel-CJIB POST /v1/applications -H "Idempotency-Key: ${run}-1" -d "$(app "${run}-1")")
check '[[ $(status_of "$out") == 202 ]]' "an application under the old key (k1)"
old_app=$(body_of "$out" | jq -r .application_id)
sleep 1.1
out=$(api channel-CJIB POST /v1/applications -H "Idempotency-Key: ${run}-2" -d "$(app "${run}-2")")
check '[[ $(status_of "$out") == 202 ]]' "an application by the same citizen after rotation"
new_app=$(body_of "$out" | jq -r .application_id)
check '[[ $(psql_q "SELECT bsn_key_id FROM intake.citizens c JOIN intake.applications a USING (citizen_ref) WHERE a.application_id = '"'${new_app}'"'") == k1 ]]' \
    "the citizen stored under k1 is found after rotation (pseudonym key unchanged)"
check '[[ $(psql_q "SELECT count(DISTINCT citizen_ref) FROM intake.applications WHERE application_id IN ('"'${old_app}'"', '"'${new_app}'"')") == 1 ]]' \
    "both applications belong to one citizen"
check '[[ $(psql_q "SELECT personal_key_id FROM intake.applications WHERE application_id = '"'${new_app}'"'") == k2-test && $(psql_q "SELECT personal_key_id FROM intake.applications WHERE application_id = '"'${old_app}'"'") == k1 ]]' \
    "new rows are sealed under the new key id, old rows keep theirs"
finish
