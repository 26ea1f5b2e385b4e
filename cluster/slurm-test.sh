#!/usr/bin/env bash
# The scheduler test (make slurm-test): a one-node Slurm from Debian's packages (munge,
# slurmctld, slurmd; 4 CPUs declared on this machine), private to .build/slurm, runs
# cluster/slurm.sbatch on 2 ranks (LAUNCHER=mpirun), stops it mid-run with the signal Slurm
# sends before a time limit (scancel --batch --signal=USR1, as --signal=B:USR1@180 does), lets
# the script requeue itself, and checks that the requeued job resumed and ended with the
# checkpoints and test metrics of an uninterrupted run, and that its log kept both parts; then
# kills a rank of a job under the default launcher (srun) and checks the job ends, naming it.
# Needs root (it starts daemons); installs slurmctld, slurmd, slurm-client and munge.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps slurmctld slurmd slurm-client munge
BIN=$PWD/.build/release/imbal-dist
[ -x "$BIN" ] || swift build -c release
WORK=$PWD/.build/slurm
HOST=$(hostname)
export SLURM_CONF=$WORK/slurm.conf
# mpirun inside the job runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

stop_slurm() {
  scontrol shutdown > /dev/null 2>&1 || true
  sleep 1
  for pidfile in "$WORK"/slurmctld.pid "$WORK"/slurmd.pid; do
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2> /dev/null || true; fi
  done
}
trap stop_slurm EXIT

stop_slurm
rm -rf "$WORK"
mkdir -p "$WORK/state" "$WORK/spool" "$WORK/runs"
cat > "$SLURM_CONF" <<CONF
ClusterName=imbal-test
SlurmctldHost=$HOST
SlurmctldPort=6917
SlurmdPort=6918
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
JobRequeue=1
NodeName=$HOST CPUs=4 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
install -d -o munge -g munge -m 0755 /run/munge
pgrep -x munged > /dev/null || runuser -u munge -- /usr/sbin/munged
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  sinfo -h -o %T 2> /dev/null | grep -q idle && break
  sleep 1
done
sinfo -h -o %T | grep -q idle || { echo "slurm-test: the node never became idle" >&2; tail "$WORK"/*.log >&2; exit 1; }

# gone JOB SECONDS: true once JOB has left the queue, false if it is still there after SECONDS.
gone() {
  for _ in $(seq "$2"); do
    [ -z "$(squeue -h -j "$1" 2> /dev/null)" ] && return 0
    sleep 1
  done
  [ -z "$(squeue -h -j "$1" 2> /dev/null)" ]
}

DATA=$WORK/data
"$BIN" pack --out "$DATA" --imbalance exp:10 --shards 2 > /dev/null
# Batch norm over the global batch (--sync-bn): resumed mid-epoch, plain per-rank batch norm
# restarts from running statistics averaged over the ranks (see the README).
OPTIONS=(--epochs 2 --epoch-size 1024 --batch-size 64 --tsne-points 0 --log-every 1 --sync-bn)

# The uninterrupted run, on the same 2 ranks.
scripts/mpirun-local -n 2 "$BIN" train --data "$DATA" --out "$WORK/runs/whole" "${OPTIONS[@]}" > /dev/null

job=$(DATA=$DATA RUN=$WORK/runs/sliced LAUNCHER=mpirun sbatch --parsable --nodes=1 --ntasks-per-node=2 \
  --time=00:30:00 cluster/slurm.sbatch "${OPTIONS[@]}")
log=logs/imbal-dist-$job.out
echo "slurm-test: job $job submitted"
for _ in $(seq 120); do
  grep -q "step 5/16" "$log" 2> /dev/null && break
  sleep 1
done
grep -q "step 5/16" "$log" || { echo "slurm-test: job $job never reached step 5" >&2; cat "$log" >&2; exit 1; }
scancel --batch --signal=USR1 "$job"
gone "$job" 300 || { echo "slurm-test: job $job did not end ($(squeue -h -j "$job" -o %T))" >&2; exit 1; }

failures=0
# check WHAT COMMAND…: prints ok or FAILED with WHAT.
check() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
check "the job stopped at a checkpoint" grep -q "stopped by a signal after step" "$log"
check "it requeued itself" grep -q "requeueing job $job" "$log"
check "the requeued job resumed, and the log kept both parts" grep -q "resuming $WORK/runs/sliced" "$log"
check "it finished" test -f "$WORK/runs/sliced/test.json"
"$BIN" evaluate --run "$WORK/runs/whole" > "$WORK/whole.txt"
"$BIN" evaluate --run "$WORK/runs/sliced" > "$WORK/sliced.txt"
check "its test metrics are the uninterrupted run's" cmp -s "$WORK/whole.txt" "$WORK/sliced.txt"
# The parameters and buffers, bit for bit (the run identities differ).
check "best and last checkpoints equal the uninterrupted run's" .build/python-venv/bin/python -c "
import sys
from safetensors.numpy import load_file
import numpy as np
for name in ['best', 'last']:
    a, b = (load_file(f'$WORK/runs/{run}/{name}.safetensors') for run in ['whole', 'sliced'])
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), name
" 

# The default launcher, srun --mpi=pmix --kill-on-bad-exit=1: a rank killed mid-run ends the job
# at once, and the log names the task and the cause.
killed=$(DATA=$DATA RUN=$WORK/runs/killed sbatch --parsable --nodes=1 --ntasks-per-node=2 --time=00:30:00 \
  --no-requeue cluster/slurm.sbatch --epochs 50 --epoch-size 1024 --batch-size 64 --tsne-points 0 --log-every 1)
for _ in $(seq 120); do
  grep -q "step 5/16" "logs/imbal-dist-$killed.out" 2> /dev/null && break
  sleep 1
done
kill -9 "$(pgrep -f "^$BIN train --data $DATA --out $WORK/runs/killed" | tail -n 1)"
started=$(date +%s)
check "a killed rank ended the srun job within 60 s" gone "$killed" 60
check "its log names the task and the cause" grep -qE "srun: error: $HOST: task [01]: Killed" \
  "logs/imbal-dist-$killed.err"
echo "slurm-test: the srun job ended $(($(date +%s) - started)) s after a rank was killed"

if [ "$failures" = 0 ]; then
  rm -f "$log" "logs/imbal-dist-$job.err" "logs/imbal-dist-$killed.out" "logs/imbal-dist-$killed.err"
  echo "slurm-test: the requeued job equals the uninterrupted run"
else
  echo "slurm-test: see $log and $WORK" >&2
fi
exit "$failures"
