#!/usr/bin/env bash
# A worker whose network link is cut mid-candidate: it runs in its own network namespace,
# joined to a PostgreSQL on the host side by a veth pair. After the cut its claim goes stale
# and another worker takes it after the grace period; the run completes with every candidate
# recorded once, and the cut-off worker gives up with a message instead of hanging.
# Traffic goes only to this namespace's link (10.231.0.0/30) and loopback.
#   scripts/network-fault-test.sh [path/to/edgenas]      (root; iproute2)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

EDGENAS=$(realpath "${1:-.build/debug/edgenas}")
readonly NS=edgenas-fault HOST_LINK=enf-host WORKER_LINK=enf-worker
readonly HOST_ADDRESS=10.231.0.1 WORKER_ADDRESS=10.231.0.2 PORT=55433
export EDGENAS_PG_DIR=/tmp/edgenas-fault-postgres EDGENAS_PG_PORT=$PORT
export EDGENAS_PG_LISTEN="127.0.0.1,$HOST_ADDRESS" EDGENAS_PG_TRUSTED_NETWORK=10.231.0.0/30
WORK=$(mktemp -d)

fail() { echo "network-fault-test.sh: FAILED: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (ip netns)"
[[ -x $EDGENAS ]] || fail "no edgenas binary at $EDGENAS: swift build first"

cleanup() {
    [[ -n ${CUT_PID:-} ]] && kill -9 "$CUT_PID" 2>/dev/null || true
    scripts/postgres-test-server.sh stop || true
    ip netns delete "$NS" 2>/dev/null || true
    ip link delete "$HOST_LINK" 2>/dev/null || true
    rm -rf "$WORK" "$EDGENAS_PG_DIR"
}
trap cleanup EXIT
cleanup 2>/dev/null || true
WORK=$(mktemp -d)

ip netns add "$NS"
ip link add "$HOST_LINK" type veth peer name "$WORKER_LINK"
ip link set "$WORKER_LINK" netns "$NS"
ip addr add "$HOST_ADDRESS/30" dev "$HOST_LINK" && ip link set "$HOST_LINK" up
ip netns exec "$NS" ip addr add "$WORKER_ADDRESS/30" dev "$WORKER_LINK"
ip netns exec "$NS" ip link set "$WORKER_LINK" up
ip netns exec "$NS" ip link set lo up

scripts/postgres-test-server.sh start >/dev/null
psql -q "postgresql://edgenas@127.0.0.1:$PORT/postgres" -c "CREATE DATABASE fault"
readonly LOCAL_URL="postgresql://edgenas@127.0.0.1:$PORT/fault" REMOTE_URL="postgresql://edgenas@$HOST_ADDRESS:$PORT/fault"

"$EDGENAS" search --store "$LOCAL_URL" --init --grace 3s --space spaces/fmnist-mbconv-tiny.json --scorer params \
    --candidates 6 --seed 2 --out "$WORK/run" --export "$WORK/run/winner.onnx" 2>"$WORK/init.log" \
    || { cat "$WORK/init.log"; fail "search --init"; }

# The cut-off worker holds each candidate for 20 s, long past the grace period.
EDGENAS_TEST_HOLD_CLAIM_SECONDS=20 ip netns exec "$NS" "$EDGENAS" worker --store "$REMOTE_URL" --name cut-off \
    >/dev/null 2>"$WORK/cut.log" &
CUT_PID=$!
for _ in $(seq 100); do
    "$EDGENAS" search --store "$LOCAL_URL" --status 2>/dev/null | grep -q "cut-off: score" && break
    sleep 0.2
done
"$EDGENAS" search --store "$LOCAL_URL" --status | grep -q "cut-off: score" || fail "the namespaced worker never claimed a candidate"
ip link set "$HOST_LINK" down
echo "cut the link of the worker holding: $("$EDGENAS" search --store "$LOCAL_URL" --status | grep 'cut-off:')"

start=$(date +%s)
"$EDGENAS" worker --store "$LOCAL_URL" --name host >/dev/null 2>"$WORK/host.log" || { cat "$WORK/host.log"; fail "the host worker"; }
echo "the host worker finished the run in $(( $(date +%s) - start )) s:"
grep "attempt 2" "$WORK/host.log" || fail "the host worker did not retry the cut-off worker's candidate"
status=$("$EDGENAS" search --store "$LOCAL_URL" --status)
echo "$status"
grep -q "candidates: 6, scored 6; units: 6 done, 0 claimed, 0 pending, 0 failed" <<<"$status" || fail "the run did not complete"
[[ -f $WORK/run/report.md ]] || fail "no report"

# The cut-off worker's statement times out (tcp_user_timeout), it retries for 30 s, and exits.
for _ in $(seq 90); do kill -0 "$CUT_PID" 2>/dev/null || break; sleep 1; done
if kill -0 "$CUT_PID" 2>/dev/null; then fail "the cut-off worker still hangs $(( $(date +%s) - start )) s after the cut"; fi
wait "$CUT_PID" && code=0 || code=$?
CUT_PID=
echo "the cut-off worker exited with status $code $(( $(date +%s) - start )) s after the cut:"
tail -n 2 "$WORK/cut.log"
[[ $code -ne 0 ]] && grep -q "could not reconnect" "$WORK/cut.log" || fail "the cut-off worker should exit saying it lost the connection"
echo "network-fault-test.sh: passed"
