#!/bin/bash
# One device call: GPU parity tests, op timings, then the training-step table (printed last).
# Logs go under $OUT (or ./gpu_logs when run by hand).
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
LOG=${OUT:-gpu_logs}; mkdir -p "$LOG"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$LOG/gpu.txt"
python3 -m pytest -q -p no:cacheprovider tests/gpu/test_cuda_kernels.py 2>&1 | tee "$LOG/parity.txt" | tail -25
[ "${SKIP_OPS:-0}" = 1 ] || timeout 120 python3 benchmarks/ops.py 2>&1 | tee "$LOG/ops.txt" | tail -14
timeout ${STEP_TIMEOUT:-300} python3 benchmarks/train_step.py --device gpu --preset lecture --compare torch --tf32 \
    ${STEP_ARGS:---portable} 2>&1 | tee "$LOG/train_step.txt" | tail -16
