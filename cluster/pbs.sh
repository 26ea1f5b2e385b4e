#!/usr/bin/env bash
# imbal-dist on PBS/Torque: one MPI rank per core, one BLAS thread per rank.
#   qsub cluster/pbs.sh                      (options through -v, e.g. qsub -v RUN=runs/a cluster/pbs.sh)
# PBS sends SIGTERM before killing a job (pre-emption, qdel, end of walltime with kill_delay):
# the trap forwards SIGUSR1 to mpirun, which hands it to every rank; they finish their step,
# rank 0 checkpoints, and the job exits 75. Submit the same script again with the same RUN to
# continue with --resume.
#PBS -N imbal-dist
#PBS -l nodes=2:ppn=16
#PBS -l walltime=04:00:00
#PBS -o logs/imbal-dist.out
#PBS -e logs/imbal-dist.err
set -euo pipefail
cd "${PBS_O_WORKDIR:-.}"

IMBAL_DIST=${IMBAL_DIST:-.build/release/imbal-dist}
DATA=${DATA:-data/fashion-mnist-lt-exp100-32}
PACK_OPTIONS=${PACK_OPTIONS:---source fashion-mnist --imbalance exp:100 --shards 32}
RUN=${RUN:-runs/imbal-dist-${PBS_JOBID:-local}}
TRAIN_OPTIONS=${TRAIN_OPTIONS:-}
HOSTFILE=${PBS_NODEFILE:-cluster/hostfile.example}

export OPENBLAS_NUM_THREADS=1
mkdir -p logs "$(dirname "$RUN")"
ranks=$(wc -l < "$HOSTFILE")

if [ ! -f "$DATA/manifest.json" ]; then
  # shellcheck disable=SC2086  # PACK_OPTIONS is a list of options
  "$IMBAL_DIST" pack $PACK_OPTIONS --out "$DATA"
fi

if [ -f "$RUN/last.state.safetensors" ]; then
  arguments=(train --resume "$RUN")
else
  # shellcheck disable=SC2206  # TRAIN_OPTIONS is a list of options
  arguments=(train --data "$DATA" --out "$RUN" $TRAIN_OPTIONS)
fi

mpirun -np "$ranks" --hostfile "$HOSTFILE" -x OPENBLAS_NUM_THREADS --bind-to core \
  "$IMBAL_DIST" "${arguments[@]}" &
launcher=$!
trap 'kill -USR1 "$launcher"' TERM
status=0
wait "$launcher" || status=$?
if [ "$status" -gt 128 ]; then
  # wait was interrupted by the trap; wait for mpirun itself.
  status=0
  wait "$launcher" || status=$?
fi
[ "$status" -eq 75 ] && echo "imbal-dist stopped at a checkpoint in $RUN; qsub again with RUN=$RUN to continue"
exit "$status"
