#!/usr/bin/env bash
# Students compared at an equal wall-clock distillation budget (issue 5): the RADIO ViT student, FasterViT and
# E-RADIO distil the same teachers (CIFAR-10 ResNet8: summary + features, HOG: features) on Fashion-MNIST at 64 px.
# Each student first runs a short calibration (its median seconds per optimizer step, from metrics.jsonl), then
# trains for BUDGET seconds' worth of steps; kNN and fidelity come from `condense distill --json`.
# Usage: scripts/backbones-equal-budget.sh [OUT_DIR]   (env: BUDGET seconds, STUDENTS names)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/backbones-budget}
BUDGET=${BUDGET:-180}
STUDENTS=${STUDENTS:-radio_vit fastervit_micro eradio_micro}
COMMON=(--teachers resnet8,hog --set data.resolution=64 --set data.train_images=2000 --set data.test_images=500
        --set train.batch_size=32 --set train.checkpoint_every=100000 --set eval.probe_steps=100 --no-resume --progress none --json)
mkdir -p "$OUT"
for s in $STUDENTS; do
  ./condense distill --student "$s" "${COMMON[@]}" --steps 12 --set train.warmup_steps=2 --run-dir "$OUT/$s-calibration" > /dev/null
  step_s=$(jq -s '[.[] | select(.step > 2) | .step_s] | sort | .[length / 2 | floor]' "$OUT/$s-calibration/metrics.jsonl")
  steps=$(python3 -c "print(max(20, int($BUDGET / $step_s)))")
  echo "$s: ${step_s} s/step -> $steps steps" >&2
  ./condense distill --student "$s" "${COMMON[@]}" --steps "$steps" --set train.warmup_steps=$((steps / 10)) \
    --run-dir "$OUT/$s" > "$OUT/$s.json"
  jq --arg s "$s" --argjson step_s "$step_s" '{student: $s, step_s: $step_s, steps, final_loss,
      resnet8_knn: (.knn[] | select(.teacher == "resnet8") | .student_accuracy), combined_knn: .combined_student_accuracy,
      backbone_knn: .backbone_summary_accuracy, fidelity: [.fidelity[] | {key: "\(.teacher) \(.output)", value: .fidelity}] | from_entries}' \
    "$OUT/$s.json" > "$OUT/$s.summary.json"
done
jq -s '.' "$OUT"/*.summary.json
