#!/usr/bin/env bash
# Integration: a service restarted at once (well within the consumer
# session timeout, as a deploy does) with a larger subscription consumes
# the new topic too.  brr consumers use static group membership; a static
# member that rejoins is handed its old assignment, and Kafka 4.1 does not
# always rebalance for its changed subscription (on a fresh broker the
# restarted member kept topic A's partitions only).  brr's member id
# carries a hash of the subscription, so a larger subscription is a new
# member and the group rebalances once the old one's session expired.
#
# Usage: static_membership.sh <it_producer> <it_consumer> (stack env exported)
set -euo pipefail
producer=$1 consumer=$2
log=${BRR_LOG_DIR:-/tmp}/it_static_membership.log
topic_a=brr.it.sm-a.v1
topic_b=brr.it.sm-b.v1
group=it-sm-$$
n=100
psql_q() { psql "${BRR_PG_DSN}" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

psql_q "SET client_min_messages TO warning;
        DROP SCHEMA IF EXISTS it_src CASCADE; DROP SCHEMA IF EXISTS it_dst CASCADE;
        SELECT public.brr_messaging_tables('it_src');
        SELECT public.brr_messaging_tables('it_dst');
        CREATE TABLE it_dst.applied (event_id uuid PRIMARY KEY, n int NOT NULL);" >/dev/null

cpid=
start_consumer() {
    BRR_IT_TOPICS=$1 BRR_IT_GROUP=${group} \
        BRR_ADMIN_PORT=$((8087 + ${BRR_STACK:-0} * 10)) \
        BRR_INSTANCE_ID=it-sm-1 "${consumer}" >>"${log}" 2>&1 &
    cpid=$!
}
cleanup() { [[ -n "${cpid}" ]] && kill -KILL "${cpid}" 2>/dev/null || true; }
trap cleanup EXIT

# wait_applied N SECONDS: until N distinct events were applied.
wait_applied() {
    local got=0
    for _ in $(seq 1 $(($2 * 5))); do
        got=$(psql_q "SELECT count(*) FROM it_dst.applied")
        ((got >= $1)) && return 0
        sleep 0.2
    done
    echo "FAIL: ${got} of $1 events applied after $2 s" >&2
    tail -n 20 "${log}" >&2
    return 1
}

BRR_IT_TOPIC=${topic_b} "${producer}" 0 # create topic B (empty) up front
start_consumer "${topic_a}"
BRR_IT_TOPIC=${topic_a} "${producer}" "${n}"
wait_applied "${n}" 120
echo "first release (topic A only) applied ${n} events"

# The next release subscribes to A and B; restarted at once, as a deploy
# does, so the old member's session has not expired.
kill -TERM "${cpid}"
wait "${cpid}" 2>/dev/null || true
start_consumer "${topic_a},${topic_b}"
BRR_IT_TOPIC=${topic_b} "${producer}" "${n}"
# The old member's session (10 s) must expire before the group settles.
wait_applied $((2 * n)) 120
twice=$(psql_q "SELECT count(*) FROM it_dst.applied WHERE n <> 1")
if ((twice != 0)); then
    echo "FAIL: ${twice} events applied more than once" >&2
    exit 1
fi
echo "second release (topics A and B) applied the ${n} events of topic B"
