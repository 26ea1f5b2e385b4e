#!/usr/bin/env bash
# imbal-dist on PBS/Torque: one MPI rank per core, one BLAS thread per rank.
#   qsub cluster/pbs.sh                      (options through -v, e.g. qsub -v RUN=runs/a cluster/pbs.sh)
# PBS sends SIGTERM before killing a job (pre-emption, qdel, end of walltime with kill_delay),
# to this script and to every process of the job: the script passes it to mpirun as SIGUSR1,
# which hands it to every rank (ranks that got SIGTERM themselves do the same); they finish
# their step, rank 0 checkpoints, and the job exits 75. Submit the same script again with the
# same RUN to continue with --resume.
#PBS -N imbal-dist
#PBS -l nodes=2:ppn=16
#PBS -l walltime=04:00:00
#PBS -o logs/imbal-dist.out
#PBS -e logs/imbal-dist.err
set -euo pipefail
cd "${PBS_O_WORKDIR:-.}"
# shellcheck source=cluster/job-common.sh
source cluster/job-common.sh

IMBAL_DIST=${IMBAL_DIST:-.build/release/imbal-dist}
DEFAULT_DATA=data/fashion-mnist-lt-exp100-32
DATA=${DATA:-$DEFAULT_DATA}
PACK_OPTIONS_GIVEN=${PACK_OPTIONS+1}
PACK_OPTIONS=${PACK_OPTIONS:---source fashion-mnist --imbalance exp:100 --shards 32}
RUN=${RUN:-runs/imbal-dist-${PBS_JOBID:-local}}
TRAIN_OPTIONS=${TRAIN_OPTIONS:-}
HOSTFILE=${PBS_NODEFILE:-cluster/hostfile.example}

export OPENBLAS_NUM_THREADS=1
mkdir -p "$(dirname "$RUN")"
# One rank per slot: PBS_NODEFILE lists a host once per slot; a hostfile may say `slots=N`.
ranks=$(awk '!/^[[:space:]]*(#|$)/ { n = 1; for (i = 2; i <= NF; i++) if ($i ~ /^slots=/) n = substr($i, 7); total += n }
  END { print total + 0 }' "$HOSTFILE")

job_prepare_data
# shellcheck disable=SC2086  # TRAIN_OPTIONS is a list of options
job_arguments $TRAIN_OPTIONS
job_launch mpirun -np "$ranks" --hostfile "$HOSTFILE" -x OPENBLAS_NUM_THREADS --bind-to core \
  "$IMBAL_DIST" "${arguments[@]}"
[ "$status" -eq 75 ] && echo "imbal-dist stopped at a checkpoint in $RUN; qsub again with RUN=$RUN to continue"
exit "$status"
