"""Cold start on the GPU: which kernels NVRTC compiles before the first training step runs,
and what they cost, from an empty CuPy kernel cache.

    python benchmarks/cold_start.py --preset speedrun [--precompile]

CuPy compiles every kernel the first time a process uses it (our fused kernels, and each
of CuPy's own elementwise/reduction kernels per dtype and dimensionality) and caches the
binary on disk. A machine that never ran the step pays all of it inside the first step.
This prints the count, the total, the slowest kernels, and whether NVRTC compiles run in
parallel from threads (CuPy releases the GIL around nvrtcCompileProgram).
"""
import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ['CUPY_CACHE_DIR'] = tempfile.mkdtemp(prefix='cold-cupy-')   # before CuPy loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minitensor as mt  # noqa: E402
from minitensor import backend  # noqa: E402


def record_compiles():
    """Wrap CuPy's compile-with-cache: [(seconds, first line of the kernel source)] as they happen."""
    compiler = backend.cupy_module().cuda.compiler
    original = compiler._compile_with_cache_cuda
    records = []
    lock = threading.Lock()

    def timed(source, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(source, *args, **kwargs)
        finally:
            name = next((line for line in source.splitlines() if '__global__' in line), source[:80])
            with lock:
                records.append((time.perf_counter() - start, name.strip()[:100]))
    compiler._compile_with_cache_cuda = timed
    return records


def threads_compile_in_parallel(n=8):
    """Seconds for n distinct trivial RawKernels compiled one after another, then from n threads."""
    cp = backend.cupy_module()

    def kernel(i, tag):
        src = f'extern "C" __global__ void k_{tag}_{i}(float* x) {{ x[threadIdx.x] += {i}.0f; }}'
        return cp.RawKernel(src, f'k_{tag}_{i}')
    start = time.perf_counter()
    for i in range(n):
        kernel(i, 'serial').compile()
    serial = time.perf_counter() - start
    start = time.perf_counter()
    workers = [threading.Thread(target=lambda i=i: kernel(i, 'threads').compile()) for i in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return serial, time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--preset', default='speedrun', help="gpt.config preset whose first step is measured")
    p.add_argument('--precompile', action='store_true',
                   help="first compile the step's kernels from threads (gpt/warmup.py), as gpt.train does")
    p.add_argument('--top', type=int, default=15, help="list the N slowest compiles")
    args = p.parse_args()
    from gpt.config import gpt_config, preset
    from gpt.models import GPT

    records = record_compiles()
    cfg = preset(args.preset)
    mt.backends.allow_tf32 = cfg.tf32
    start = time.perf_counter()
    if args.precompile:
        from gpt.warmup import compile_step_kernels
        compile_step_kernels(cfg, 65, 'gpu', log=lambda line: None)
        print(f"precompile: {len(records)} kernels in {time.perf_counter() - start:.2f} s "
              f"({sum(s for s, _ in records):.2f} s of compiling, summed over the threads)")
    model = GPT(gpt_config(cfg, 65)).to('gpu')
    opt = mt.optim.AdamW(model.parameters(), lr=cfg.learning_rate)
    xb = mt.randint(0, 65, (cfg.batch_size, cfg.block_size), device='gpu')
    before = len(records)
    t0 = time.perf_counter()
    _, loss = model(xb, xb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    mt.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    mt.cuda.synchronize()
    first = time.perf_counter() - t0
    in_step = records[before:]
    print(f"first step: {first:.2f} s, of which {sum(s for s, _ in in_step):.2f} s compiling "
          f"{len(in_step)} kernels (total since start {time.perf_counter() - start:.2f} s)")
    for seconds, name in sorted(in_step, reverse=True)[:args.top]:
        print(f"  {seconds:6.3f} s  {name}")
    serial, threaded = threads_compile_in_parallel()
    print(f"8 trivial kernels: {serial:.2f} s one after another, {threaded:.2f} s from 8 threads")


if __name__ == '__main__':
    main()
