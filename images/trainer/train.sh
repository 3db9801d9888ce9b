#!/bin/sh
# The example trainer: prints a decreasing loss curve, one line per epoch, and serves it as
# Prometheus metrics (training_loss, training_epoch, and the mlops_training_* progress
# convention) on $METRICS_PORT/metrics. Settings (env):
#   EPOCHS (10)          epochs to run
#   EPOCH_SECONDS (1)    seconds per epoch (fractions allowed)
#   EXIT_CODE (0)        exit code at the end (non-zero: a failed run)
#   MODE (train)         train | oom (allocates memory until the memory limit kills it)
#   METRICS_PORT (8000)  port of the metrics endpoint (0: none)
#   LINGER_SECONDS (0)   keep serving metrics this long after the last epoch
# WORLD_SIZE and RANK come from the operator for distributed runs; MLOPS_ATTEMPT and
# MLOPS_CHECKPOINT_DIR for every attempt (checkpoints, below).
set -u
EPOCHS=${EPOCHS:-10}
EPOCH_SECONDS=${EPOCH_SECONDS:-1}
EXIT_CODE=${EXIT_CODE:-0}
MODE=${MODE:-train}
METRICS_PORT=${METRICS_PORT:-8000}
LINGER_SECONDS=${LINGER_SECONDS:-0}
RANK=${RANK:-0}
WORLD_SIZE=${WORLD_SIZE:-1}
WWW=/tmp/www
epoch=0

trap 'echo "trainer[$RANK]: terminated at epoch $epoch"; exit 143' TERM INT

mkdir -p "$WWW"
# loss in 1/10000: starts at 2.5, falls by 20% per epoch towards 0.05
loss=25000

# Checkpoints: with MLOPS_CHECKPOINT_DIR set, each finished epoch is saved in the run's directory
# there ($MLOPS_RUN_ID/rank<R>-epoch-<N>, holding "epoch loss", written to a temporary name and
# renamed), and an attempt starts from the newest one of its rank (the 3 newest are kept). A new run
# (a new run id) starts from epoch 0.
ATTEMPT=${MLOPS_ATTEMPT:-1}
CHECKPOINT_DIR=${MLOPS_CHECKPOINT_DIR:+$MLOPS_CHECKPOINT_DIR/${MLOPS_RUN_ID:-run}}
save_checkpoint() {
  [ -n "$CHECKPOINT_DIR" ] || return 0
  file=$(printf '%s/rank%s-epoch-%06d' "$CHECKPOINT_DIR" "$RANK" "$epoch")
  echo "$epoch $loss" > "$file.tmp" && mv "$file.tmp" "$file"
  ls "$CHECKPOINT_DIR" | grep "^rank$RANK-epoch-[0-9]*\$" | sort -r | tail -n +4 | while read -r old; do
    rm -f "$CHECKPOINT_DIR/$old"
  done
}
if [ -n "$CHECKPOINT_DIR" ] && ! mkdir -p "$CHECKPOINT_DIR"; then
  echo "trainer[$RANK]: cannot create $CHECKPOINT_DIR: no checkpoints"
  CHECKPOINT_DIR=
fi
if [ -n "$CHECKPOINT_DIR" ]; then
  newest=$(ls "$CHECKPOINT_DIR" 2>/dev/null | grep "^rank$RANK-epoch-[0-9]*\$" | sort | tail -n 1)
  if [ -n "$newest" ] && read -r epoch loss < "$CHECKPOINT_DIR/$newest"; then
    echo "trainer[$RANK]: attempt $ATTEMPT resumes from epoch $epoch ($CHECKPOINT_DIR/$newest)"
  else
    epoch=0
    loss=25000
    echo "trainer[$RANK]: attempt $ATTEMPT starts at epoch 0 (no checkpoint in $CHECKPOINT_DIR)"
  fi
fi
write_metrics() {
  whole=$(( (loss + 500) / 10000 ))
  frac=$(( (loss + 500) % 10000 ))
  value=$(printf '%d.%04d' "$whole" "$frac")
  {
    echo "# HELP training_loss Training loss of the last finished epoch."
    echo "# TYPE training_loss gauge"
    echo "training_loss{rank=\"$RANK\"} $value"
    echo "# HELP training_epoch Epochs finished."
    echo "# TYPE training_epoch gauge"
    echo "training_epoch{rank=\"$RANK\"} $epoch"
    echo "# HELP training_epochs_total Epochs this run will train."
    echo "# TYPE training_epochs_total gauge"
    echo "training_epochs_total{rank=\"$RANK\"} $EPOCHS"
    # The progress convention the operator reads into status.progress (docs/progress.md).
    ratio=10000
    if [ "$EPOCHS" -gt 0 ]; then ratio=$(( epoch * 10000 / EPOCHS )); fi
    echo "# HELP mlops_training_progress_ratio Fraction of the run done, 0 to 1."
    echo "# TYPE mlops_training_progress_ratio gauge"
    echo "mlops_training_progress_ratio{rank=\"$RANK\"} $(printf '%d.%04d' $((ratio / 10000)) $((ratio % 10000)))"
    echo "# HELP mlops_training_epoch Epochs finished."
    echo "# TYPE mlops_training_epoch gauge"
    echo "mlops_training_epoch{rank=\"$RANK\"} $epoch"
    echo "# HELP mlops_training_loss Training loss of the last finished epoch."
    echo "# TYPE mlops_training_loss gauge"
    echo "mlops_training_loss{rank=\"$RANK\"} $value"
  } > "$WWW/metrics.tmp"
  mv "$WWW/metrics.tmp" "$WWW/metrics"
}
write_metrics
if [ "$METRICS_PORT" != "0" ]; then
  httpd -f -p "$METRICS_PORT" -h "$WWW" &
fi

echo "trainer[$RANK/$WORLD_SIZE]: $EPOCHS epochs of ${EPOCH_SECONDS}s, mode $MODE"
if [ "$MODE" = "oom" ]; then
  echo "trainer[$RANK]: allocating memory until the limit is hit"
  head -c 4000m /dev/zero | tail
  code=$?
  echo "trainer[$RANK]: allocation ended with exit code $code"
  exit "$code"
fi

while [ "$epoch" -lt "$EPOCHS" ]; do
  sleep "$EPOCH_SECONDS" &
  wait $!
  epoch=$((epoch + 1))
  loss=$(( loss * 8 / 10 + 100 ))
  write_metrics
  save_checkpoint
  echo "epoch $epoch/$EPOCHS loss $value"
done

if [ "$LINGER_SECONDS" != "0" ]; then
  sleep "$LINGER_SECONDS" &
  wait $!
fi
echo "trainer[$RANK]: done, exit code $EXIT_CODE"
exit "$EXIT_CODE"
