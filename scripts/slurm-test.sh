#!/usr/bin/env bash
# A real Slurm run on this machine: munge, the controller and the node daemon on localhost
# (a throw-away configuration), and deploy/slurm-workers.sbatch as a job array of 2 workers
# on one shared run in the test PostgreSQL. Prints the job's accounting, the workers' logs
# and the run's status; exits non-zero unless the run completed.
#   scripts/slurm-test.sh [path/to/edgenas]     (root; Debian's slurm-wlm and munge)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

EDGENAS=$(realpath "${1:-.build/debug/edgenas}")
readonly DIR=/tmp/edgenas-slurm
fail() { echo "slurm-test.sh: FAILED: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root"
command -v slurmctld >/dev/null || fail "no slurmctld: apt-get install slurm-wlm munge"

cleanup() {
    [[ -f $DIR/slurmd.pid ]] && kill "$(cat "$DIR/slurmd.pid")" 2>/dev/null || true
    [[ -f $DIR/slurmctld.pid ]] && kill "$(cat "$DIR/slurmctld.pid")" 2>/dev/null || true
    sleep 1
}
trap cleanup EXIT
cleanup
rm -rf "$DIR" && mkdir -p "$DIR/state" "$DIR/spool" "$DIR/run"
NODE=$(hostname -s)
cat >"$DIR/slurm.conf" <<CONF
ClusterName=edgenas-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldPort=46817
SlurmdPort=46818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$DIR/slurm.conf

# munge authenticates the daemons to each other; Debian's package made its key.
if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged || fail "munged did not start"
fi
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start: $(tail -n 5 "$DIR/slurmctld.log")"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start: $(tail -n 5 "$DIR/slurmd.log")"
for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -qE "^idle" && break; sleep 0.5; done
sinfo -h -o "%P %D %T %C" || true
sinfo -h -o %T | grep -qE "^idle" || fail "the node did not come up: $(tail -n 5 "$DIR/slurmd.log")"

eval "$(scripts/postgres-test-server.sh start)"
db=slurm_$(date +%s)
psql -q "$EDGENAS_TEST_POSTGRES_URL" -c "CREATE DATABASE $db"
export EDGENAS_STORE=${EDGENAS_TEST_POSTGRES_URL%/*}/$db EDGENAS=$EDGENAS
"$EDGENAS" search --store "$EDGENAS_STORE" --init --space spaces/fmnist-mbconv-tiny.json --scorer naswot \
    --candidates 16 --seed 5 --out "$DIR/run/out" --export "$DIR/run/out/winner.onnx" 2>&1 | tail -n 1

start=$(date +%s)
batch_script=$PWD/deploy/slurm-workers.sbatch
job=$(cd "$DIR/run" && sbatch --parsable --array=0-1 --cpus-per-task=1 --mem=0 --time=10 "$batch_script")
echo "submitted job array $job"
for _ in $(seq 600); do
    [[ -z $(squeue -h -j "$job" 2>/dev/null) ]] && break
    sleep 0.5
done
[[ -z $(squeue -h -j "$job") ]] || fail "the job array is still queued or running after 5 minutes"
echo "job array $job finished in $(( $(date +%s) - start )) s"
for log in "$DIR"/run/edgenas-worker-*.log; do echo "== $(basename "$log")"; tail -n 3 "$log"; done
status=$("$EDGENAS" search --store "$EDGENAS_STORE" --status)
echo "$status"
grep -q "candidates: 16, scored 16; units: 16 done, 0 claimed, 0 pending, 0 failed" <<<"$status" || fail "the run did not complete"
[[ $(ls "$DIR"/run/edgenas-worker-*.log | wc -l) -eq 2 ]] || fail "expected the logs of 2 array tasks"
echo "slurm-test.sh: passed"
