#!/usr/bin/env bash
# The cluster job on one machine: N ranks (oversubscribed when N exceeds the cores), the
# dataset packed once if missing, a run directory that resumes after an interruption.
#   cluster/run-local.sh N [more imbal-dist train options]
#   RUN=runs/mine DATA=data/x cluster/run-local.sh 4 --loss ldam
# Without RUN, the latest $RUNS/local-* (RUNS=runs) that stopped at a checkpoint (and has no
# test.json) is continued; otherwise a new $RUNS/local-<UTC time> starts.
# Exit status: imbal-dist's; 75 means stopped at a checkpoint (run it again to continue).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cluster/job-common.sh
source cluster/job-common.sh
if [ $# -lt 1 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: cluster/run-local.sh RANKS [imbal-dist train options]" >&2
  exit 2
fi
ranks=$1
shift

IMBAL_DIST=${IMBAL_DIST:-.build/release/imbal-dist}
DEFAULT_DATA=data/fashion-mnist-lt-exp100
DATA=${DATA:-$DEFAULT_DATA}
PACK_OPTIONS_GIVEN=${PACK_OPTIONS+1}
PACK_OPTIONS=${PACK_OPTIONS:---source fashion-mnist --imbalance exp:100 --shards 8}
RUNS=${RUNS:-runs}
if [ -z "${RUN:-}" ]; then
  for candidate in "$RUNS"/local-*; do
    RUN=$candidate
    job_resumable && stopped=$candidate
  done
  RUN=${stopped:-$RUNS/local-$(date -u +%Y-%m-%dT%H-%M-%S)}
fi

[ -x "$IMBAL_DIST" ] || swift build -c release
job_prepare_data
job_arguments "$@"
# mpirun-local allows root, oversubscribes, and gives each rank one BLAS thread.
exec scripts/mpirun-local -n "$ranks" "$IMBAL_DIST" "${arguments[@]}"
