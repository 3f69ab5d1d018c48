#!/usr/bin/env bash
# What a fresh Debian 12 machine needs beyond the .NET SDK: the Fashion-MNIST data package (used by the tests and
# the distillation job), redis-server (the search cluster's tests) and mricron-data (the Colin27 brain MRI and AAL
# atlas of the VLM with experts). Idempotent; uses apt only when something is missing and we are root (or have sudo).
set -euo pipefail
need=()
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
# The search cluster's membership and study store; tests start their own server on a free port.
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -f /usr/share/mricron/templates/aal.nii.gz ] || need+=(mricron-data)
# Headless Chromium renders the VLM demo page in its test.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ "${CONDENSE_BENCH_PEERS:-0}" = 1 ]; then
  /usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch libopenblas0-pthread)
fi
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "setup: missing packages ${need[*]}; install them as root: apt-get install ${need[*]}" >&2
    exit 1
  fi
fi
echo "setup: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq "${need[@]}" >&2
