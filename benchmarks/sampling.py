"""Sampling speed with and without the KV cache (gpt.models.LanguageModel.generate).

    python benchmarks/sampling.py --preset small --tokens 500 2000
    python benchmarks/sampling.py --preset lecture --tokens 500 2000 --device gpu

A freshly initialised GPT of the preset's size (the weights don't change the speed)
generates from a one-character prompt, once with use_cache=True and once without, from
the same seed; the two texts must be identical. Prints tokens/s of each and the ratio,
from wall time and from the process's CPU time (on a shared machine, run with
OPENBLAS_NUM_THREADS=1 and read the CPU columns: other processes' load does not count).

Past block_size tokens the lecture's model sees only the last block_size, whose
positions shift at every step, so the cache helps only while the context fills.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minitensor as mt  # noqa: E402
from gpt.config import default_preset, gpt_config, preset  # noqa: E402
from gpt.models import GPT  # noqa: E402


def timed_generate(model, n, use_cache, device, seed):
    mt.manual_seed(seed)
    idx = mt.zeros((1, 1), dtype=mt.int64, device=device)
    start, cpu_start = time.perf_counter(), time.process_time()
    out = model.generate(idx, n, use_cache=use_cache)
    tokens = out.tolist()                       # a sync: the tokens are on the host
    return time.perf_counter() - start, time.process_time() - cpu_start, tokens


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--preset', default=None,
                   help="gpt.config preset (default: 'lecture' on the GPU, 'small' on the CPU)")
    p.add_argument('--tokens', type=int, nargs='+', default=[500, 2000], help='new tokens per run')
    p.add_argument('--device', default='cpu', choices=['cpu', 'gpu'], help='where to sample')
    p.add_argument('--seed', type=int, default=1337, help='seed of the weights and of the sampling')
    args = p.parse_args()
    mt.backends.tune_cpu_allocator()
    name = args.preset or default_preset(args.device)
    cfg = preset(name)
    mt.manual_seed(args.seed)
    model = GPT(gpt_config(cfg, 65)).to(args.device)
    timed_generate(model, 8, True, args.device, args.seed)          # warm-up (kernels, caches)
    if args.device == 'gpu':
        print("(GPU: the CPU columns count only the host's time)")
    print(f"preset {name} ({model.num_parameters():,} parameters, block_size {cfg.block_size}), device "
          f"{args.device}, batch 1")
    print(f"{'new tokens':>10} | {'tokens/s: cached':>16} {'uncached':>8} {'speed-up':>8} | "
          f"{'per CPU s: cached':>17} {'uncached':>8} {'speed-up':>8}")
    for n in args.tokens:
        cached_s, cached_cpu, cached = timed_generate(model, n, True, args.device, args.seed)
        uncached_s, uncached_cpu, uncached = timed_generate(model, n, False, args.device, args.seed)
        if cached != uncached:
            raise SystemExit("the cached and uncached samples differ: a bug")
        print(f"{n:>10} | {n / cached_s:16.1f} {n / uncached_s:8.1f} {uncached_s / cached_s:7.2f}x | "
              f"{n / cached_cpu:17.1f} {n / uncached_cpu:8.1f} {uncached_cpu / cached_cpu:7.2f}x", flush=True)


if __name__ == '__main__':
    main()
