# shellcheck shell=bash
# What the job scripts of cluster/ share, sourced from the repository root (where sbatch and
# qsub start them): the dataset, the train arguments, and a launcher that passes stop signals on.

# mpirun's daemons notice a node whose link went down within ~13 s (keepalive after 5 s idle,
# 3 probes 2 s apart) and end the job naming it, instead of leaving the ranks spinning.
export OMPI_MCA_oob_tcp_keepalive_time="${OMPI_MCA_oob_tcp_keepalive_time:-5}"
export OMPI_MCA_oob_tcp_keepalive_intvl="${OMPI_MCA_oob_tcp_keepalive_intvl:-2}"
export OMPI_MCA_oob_tcp_keepalive_probes="${OMPI_MCA_oob_tcp_keepalive_probes:-3}"

# Packs the dataset when it is missing, but only the default one or one PACK_OPTIONS describes:
# a DATA given without PACK_OPTIONS must already be packed (a mistyped path would otherwise get
# Fashion-MNIST packed into it and trained on). Reads IMBAL_DIST, DATA, DEFAULT_DATA,
# PACK_OPTIONS and PACK_OPTIONS_GIVEN (1 when the user set PACK_OPTIONS).
job_prepare_data() {
  [ -f "$DATA/manifest.json" ] && return 0
  if [ "$DATA" != "$DEFAULT_DATA" ] && [ "${PACK_OPTIONS_GIVEN:-0}" != 1 ]; then
    echo "$0: DATA=$DATA is not a packed dataset (no manifest.json); pack it with imbal-dist pack," \
      "set PACK_OPTIONS to have this script pack it, or leave DATA unset for $DEFAULT_DATA" >&2
    exit 1
  fi
  # shellcheck disable=SC2086  # PACK_OPTIONS is a list of options
  "$IMBAL_DIST" pack $PACK_OPTIONS --out "$DATA"
}

# Sets the array `arguments`: `train --resume RUN` when RUN holds a run stopped at a checkpoint,
# else `train --data DATA --out RUN` and the given train options.
# shellcheck disable=SC2034  # `arguments` is read by the script that sources this file
job_arguments() {
  if [ -f "$RUN/last.state.safetensors" ]; then
    echo "resuming $RUN"
    arguments=(train --resume "$RUN")
  else
    arguments=(train --data "$DATA" --out "$RUN" "$@")
  fi
}

# True when RUN stopped with a checkpoint to continue from and no result yet.
job_resumable() { [ -f "$RUN/last.state.safetensors" ] && [ ! -f "$RUN/test.json" ]; }

# Runs the launcher "$@" in the background and waits for it; SIGUSR1 or SIGTERM reaching this
# shell (Slurm's --signal=B:USR1, scancel --batch, PBS's kill) is passed on to it as SIGUSR1,
# which mpirun and srun hand to every rank: they finish their step, rank 0 checkpoints, they
# exit 75. Sets `status`, 75 whenever a signal stopped a run that can be resumed (when ranks
# were signalled directly too, the launcher may report its own status instead).
job_launch() {
  job_signalled=0
  "$@" &
  job_launcher=$!
  trap 'job_signalled=1; kill -USR1 "$job_launcher" 2>/dev/null || true' USR1 TERM
  status=0
  while :; do
    wait "$job_launcher" && status=0 || status=$?
    # A status above 128 with the launcher still alive means a trapped signal woke the wait.
    kill -0 "$job_launcher" 2>/dev/null || break
  done
  trap - USR1 TERM
  if [ "$job_signalled" = 1 ] && [ "$status" != 0 ] && job_resumable; then
    status=75
  fi
}
