#!/bin/bash
# One device call for issue 15: the speedrun's GPU tests, then a sweep of recipe variants from
# cold kernel caches (each run its own process), then the loss-vs-seconds figure.
# Logs, each run's log.csv and table.md go under $OUT (or ./speedrun_logs by hand).
#   SEEDS="1337 1338 1339" BUDGET=480 bash benchmarks/speedrun_session.sh
#   VARIANTS="base= lr2e-3=--lr~2e-3" TORCH="eager=" bash benchmarks/speedrun_session.sh
# VARIANTS/TORCH: space-separated NAME=FLAGS, with '~' for a space inside FLAGS; WARM=1 reruns
# each variant on the kernel caches its cold run filled (cold - warm = compilation).
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
LOG=${OUT:-speedrun_logs}; mkdir -p "$LOG"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$LOG/gpu.txt"
python3 -c "import cupy, sys; print('CuPy', cupy.__version__, 'Python', sys.version.split()[0])" | tee -a "$LOG/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__)" 2>/dev/null | tee -a "$LOG/gpu.txt"
[ "${SKIP_TESTS:-0}" = 1 ] || timeout 180 python3 -m pytest -q -p no:cacheprovider tests/gpu/test_speedrun_gpu.py \
    2>&1 | tee "$LOG/tests.txt" | tail -5
args=()
for v in ${VARIANTS:-speedrun=}; do args+=(--variant "${v//\~/ }"); done
for v in ${TORCH:-}; do args+=(--torch "${v//\~/ }"); done
python3 benchmarks/speedrun_sweep.py --out "$LOG/sweep" --seeds ${SEEDS:-1337} --budget ${BUDGET:-480} --device ${DEVICE:-gpu} \
    --timeout ${RUN_TIMEOUT:-240} ${WARM:+--warm} "${args[@]}" 2>&1 | tee "$LOG/sweep.txt" | tail -30
