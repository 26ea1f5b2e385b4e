#!/usr/bin/env bash
# The cluster job on one machine: N ranks (oversubscribed when N exceeds the cores), the
# dataset packed once if missing, a run directory that resumes after an interruption.
#   cluster/run-local.sh N [more imbal-dist train options]
#   RUN=runs/mine DATA=data/x cluster/run-local.sh 4 --loss ldam
# Exit status: imbal-dist's; 75 means stopped at a checkpoint (run it again to continue).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: cluster/run-local.sh RANKS [imbal-dist train options]" >&2
  exit 2
fi
ranks=$1
shift

IMBAL_DIST=${IMBAL_DIST:-.build/release/imbal-dist}
DATA=${DATA:-data/fashion-mnist-lt-exp100}
PACK_OPTIONS=${PACK_OPTIONS:---source fashion-mnist --imbalance exp:100 --shards 8}
RUN=${RUN:-runs/local-$(date -u +%Y-%m-%dT%H-%M-%S)}

[ -x "$IMBAL_DIST" ] || swift build -c release
if [ ! -f "$DATA/manifest.json" ]; then
  # shellcheck disable=SC2086  # PACK_OPTIONS is a list of options
  "$IMBAL_DIST" pack $PACK_OPTIONS --out "$DATA"
fi

if [ -f "$RUN/last.state.safetensors" ]; then
  echo "resuming $RUN"
  arguments=(train --resume "$RUN")
else
  arguments=(train --data "$DATA" --out "$RUN" "$@")
fi
# mpirun-local allows root, oversubscribes, and gives each rank one BLAS thread.
exec scripts/mpirun-local -n "$ranks" "$IMBAL_DIST" "${arguments[@]}"
