"""Training-step time of the lecture GPT: minitensor beside PyTorch, in one run.

    python benchmarks/train_step.py --device gpu --preset lecture --compare torch [--tf32] [--graph] [--bf16] [--compile]
    python benchmarks/train_step.py --device cpu --preset small --compare torch

One step = forward + backward + AdamW step on a fixed random batch (the same model,
batch shape and recipe on both sides). GPU times are wall-clock over back-to-back steps
with a device synchronization only at the ends of each timed round (so the host may run
ahead, as in training), after warm-up; the median round is reported. Peak memory is
the high-water mark of allocated bytes (CuPy's pool, through a memory hook; torch's
max_memory_allocated); on the CPU it is the process's peak RSS (ru_maxrss), which only
grows, so a later row includes the earlier ones. Also counts, per step, the ops
recorded by minitensor (Function.apply calls) and, where torch's profiler can see them,
the GPU kernels and copies launched (CUPTI sees CuPy's launches too).
"""
import argparse
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minitensor as mt  # noqa: E402
from minitensor import autograd, backend  # noqa: E402

from gpt.config import default_preset, gpt_config  # noqa: E402
from gpt.config import preset as make_preset  # noqa: E402
from gpt.models import GPT  # noqa: E402

VOCAB = 65


# ------------------------------------------------------------ minitensor

def minitensor_step_fn(cfg, device, bf16=False):
    """One training step of minitensor's GPT (with bf16: the forward under autocast)."""
    mt.manual_seed(1337)
    model = GPT(gpt_config(cfg, VOCAB)).to(device)
    opt = mt.optim.AdamW(model.parameters(), lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2),
                         weight_decay=cfg.weight_decay)
    xb = mt.randint(0, VOCAB, (cfg.batch_size, cfg.block_size), device=device)
    yb = mt.randint(0, VOCAB, (cfg.batch_size, cfg.block_size), device=device)

    def step():
        if bf16:
            with mt.autocast(device_type='cuda', dtype=mt.bfloat16):
                _, loss = model(xb, yb)
        else:
            _, loss = model(xb, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss
    return step, sum(p.numel() for p in model.parameters())


def count_applies(step):
    """Function.apply calls (ops recorded) in one step."""
    original = autograd.Function.__dict__['apply']
    count = [0]

    def counting(cls, *inputs, **options):
        count[0] += 1
        return original.__func__(cls, *inputs, **options)
    autograd.Function.apply = classmethod(counting)
    try:
        step()
    finally:
        autograd.Function.apply = original
    return count[0]


def cupy_peak_bytes(step):
    """High-water mark of bytes in use in CuPy's memory pool over one step."""
    cp = backend.cupy_module()
    pool = cp.get_default_memory_pool()

    class PeakHook(cp.cuda.MemoryHook):
        name = 'PeakHook'

        def __init__(self):
            self.peak = pool.used_bytes()

        def malloc_postprocess(self, **kwargs):
            self.peak = max(self.peak, pool.used_bytes())
    hook = PeakHook()
    with hook:
        step()
        cp.cuda.get_current_stream().synchronize()
    return hook.peak


def capture(step):
    """step captured as a CUDA graph (after the eager warm-up the caller did): its replay, and
    the bytes the graph holds (its private pool) for the peak-memory column."""
    graph = mt.cuda.CUDAGraph()
    with mt.cuda.graph(graph, capture_error_mode='relaxed'):
        step()
    return graph.replay, graph.pool().total_bytes()


# ------------------------------------------------------------ torch

def torch_step_fn(cfg, device, attention, compile_model=False, bf16=False):
    import torch
    from gpt.torch_reference import build_torch_gpt
    torch.manual_seed(1337)
    model = build_torch_gpt(replace(gpt_config(cfg, VOCAB), attention=attention)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2),
                            weight_decay=cfg.weight_decay)
    xb = torch.randint(0, VOCAB, (cfg.batch_size, cfg.block_size), device=device)
    yb = torch.randint(0, VOCAB, (cfg.batch_size, cfg.block_size), device=device)
    forward = torch.compile(model) if compile_model else model

    def step():
        if bf16:
            with torch.autocast(device_type='cuda', dtype=torch.bfloat16):
                _, loss = forward(xb, yb)
        else:
            _, loss = forward(xb, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss
    return step


def gpu_kernels(step, sync):
    """{kernel name: [launches, microseconds]} of one step's GPU kernels and memcpy/memset,
    as CUPTI (torch.profiler) records them (CuPy's launches included); None if unavailable."""
    try:
        from torch.profiler import ProfilerActivity, profile
    except ImportError:
        return None
    try:
        sync()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            step()
            sync()
    except Exception as e:  # profiler quirks must not sink the benchmark
        print(f'(kernel profile unavailable: {type(e).__name__}: {e})')
        return None
    totals = {}
    for e in prof.events():
        if str(getattr(e, 'device_type', '')).endswith('CUDA'):
            entry = totals.setdefault(e.name, [0, 0.0])
            entry[0] += 1
            entry[1] += e.time_range.elapsed_us()
    return totals


def print_kernel_table(totals, top):
    """The `top` kernels of gpu_kernels()'s result by total time."""
    busy = sum(us for _, us in totals.values())
    print(f"GPU busy {busy / 1e3:.2f} ms in {sum(n for n, _ in totals.values())} kernels; top {top}:")
    for name, (n, us) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:top]:
        print(f"  {us / 1e3:7.3f} ms {100 * us / busy:5.1f}% {n:5d}x  {name[:110]}")


def kernel_count(totals):
    return None if totals is None else sum(n for n, _ in totals.values())


# ------------------------------------------------------------ timing

def time_steps(step, sync, warmup, rounds, steps_per_round):
    for _ in range(warmup):
        step()
    sync()
    per_step = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps_per_round):
            step()
        sync()
        per_step.append((time.perf_counter() - start) / steps_per_round)
    # host time to enqueue one step (no sync inside): below the step time means GPU-bound
    sync()
    start = time.perf_counter()
    step()
    host = time.perf_counter() - start
    sync()
    return statistics.median(per_step), host


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='gpu', choices=['gpu', 'cpu'], help="where to train")
    p.add_argument('--preset', default=None,
                   help="gpt.config preset (default: gpt.train's, 'lecture' on the GPU, 'small' on the CPU)")
    p.add_argument('--compare', default='torch', choices=['torch', 'none'], help="also time the PyTorch twin")
    p.add_argument('--tf32', action='store_true', help="also time TF32 variants (minitensor and torch)")
    p.add_argument('--compile', action='store_true', help="also time torch.compile (SDPA, TF32 if --tf32)")
    p.add_argument('--portable', action='store_true',
                   help="also time minitensor with mt.backends.fast_paths = False (the portable xp code: "
                        "no fused kernels, no cuBLAS calls of its own)")
    p.add_argument('--graph', action='store_true',
                   help="also time minitensor's step captured once as a CUDA graph and replayed (GPU)")
    p.add_argument('--bf16', action='store_true',
                   help="also time bf16 autocast steps (minitensor and torch; TF32 for the float32 rest)")
    p.add_argument('--only', nargs='+', metavar='WORD',
                   help="time only the variants whose name contains one of these words (e.g. graph bf16)")
    p.add_argument('--warmup', type=int, default=5, help='untimed steps first')
    p.add_argument('--rounds', type=int, default=5, help='timed rounds; the median is reported')
    p.add_argument('--steps', type=int, default=10, help='steps per timed round')
    p.add_argument('--kernel-table', type=int, default=0, metavar='N',
                   help='print the N GPU kernels of a minitensor step that take the most time (needs torch)')
    args = p.parse_args()
    mt.backends.tune_cpu_allocator()      # glibc keeps freed blocks: no page faults per temporary

    args.preset = args.preset or default_preset(args.device)
    cfg = make_preset(args.preset)
    device = args.device
    tokens = cfg.batch_size * cfg.block_size
    gpu = device == 'gpu'
    rows = []          # (variant, seconds/step, host seconds, peak bytes, ops, kernels)

    if gpu:
        cp = backend.cupy_module()
        sync = cp.cuda.get_current_stream().synchronize
    else:
        def sync():
            pass

    def peak_rss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def run_minitensor(name, fused, tf32, graph=False, bf16=False):
        mt.backends.fast_paths = fused
        mt.backends.allow_tf32 = tf32
        step, n_params = minitensor_step_fn(cfg, device, bf16)
        step(); sync()
        ops = count_applies(step)
        if graph:
            step(); sync()                                  # warm-up done: capture, then replay
            step, graph_bytes = capture(step)
            step(); sync()
        totals = gpu_kernels(step, sync) if gpu else None
        kernels = kernel_count(totals)
        if totals is not None and args.kernel_table:
            print(f'{name}: ', end='')
            print_kernel_table(totals, args.kernel_table)
        peak = cupy_peak_bytes(step) if gpu else None
        if graph:                       # a replay allocates nothing: count what the graph holds
            peak = cp.get_default_memory_pool().used_bytes() + graph_bytes
        seconds, host = time_steps(step, sync, args.warmup, args.rounds, args.steps)
        rows.append((name, seconds, host, peak if gpu else peak_rss(), ops, kernels))
        mt.backends.fast_paths, mt.backends.allow_tf32 = True, False
        return n_params

    variants = []
    if args.portable:
        variants.append(('minitensor portable fp32', False, False, False))
    variants.append(('minitensor fused fp32', True, False, False))
    if args.tf32 and gpu:
        variants.append(('minitensor fused tf32', True, True, False))
    if args.graph and gpu:
        variants.append(('minitensor graph fp32', True, False, True))
        if args.tf32:
            variants.append(('minitensor graph tf32', True, True, True))
    variants = [v + (False,) for v in variants]
    if args.bf16 and gpu:                       # autocast bf16 (TF32 for what stays float32)
        variants.append(('minitensor fused bf16', True, True, False, True))
        if args.graph:
            variants.append(('minitensor graph bf16', True, True, True, True))
    if args.only:
        variants = [v for v in variants if any(word in v[0] for word in args.only)]
    n_params = None
    for name, fused, tf32, graph, bf16 in variants:
        n_params = run_minitensor(name, fused, tf32, graph, bf16)
        print(f'{name}: {rows[-1][1] * 1e3:.2f} ms/step', flush=True)

    torch = None
    if args.compare == 'torch':
        try:
            import torch
        except ImportError:
            print('(torch is not importable: showing minitensor only)')
    if torch is not None:
        tdev = 'cuda' if gpu else 'cpu'
        tsync = torch.cuda.synchronize if gpu else (lambda: None)
        tvariants = [('torch eager per-head fp32', 'per_head', False, False),
                     ('torch eager sdpa fp32', 'batched', False, False)]
        if args.tf32 and gpu:
            tvariants += [('torch eager per-head tf32', 'per_head', True, False),
                          ('torch eager sdpa tf32', 'batched', True, False)]
        if args.compile:
            tvariants.append((f"torch.compile sdpa {'tf32' if args.tf32 else 'fp32'}", 'batched', args.tf32, True))
        tvariants = [v + (False,) for v in tvariants]
        if args.bf16 and gpu:
            tvariants.append(('torch eager sdpa bf16', 'batched', True, False, True))
            if args.compile:
                tvariants.append(('torch.compile sdpa bf16', 'batched', True, True, True))
        if args.only:
            tvariants = [v for v in tvariants if any(word in v[0] for word in args.only)]
        for name, attention, tf32, compiled, bf16 in tvariants:
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
            step = torch_step_fn(cfg, tdev, attention, compiled, bf16)
            step(); tsync()
            kernels = kernel_count(gpu_kernels(step, tsync)) if gpu and not compiled else None
            if gpu:
                torch.cuda.reset_peak_memory_stats()
            seconds, host = time_steps(step, tsync, args.warmup, args.rounds, args.steps)
            peak = torch.cuda.max_memory_allocated() if gpu else peak_rss()
            rows.append((name, seconds, host, peak, None, kernels))
            print(f'{name}: {seconds * 1e3:.2f} ms/step', flush=True)
        torch.backends.cuda.matmul.allow_tf32 = False

    base = next((r[1] for r in rows if r[0] == 'torch eager per-head fp32'), None)
    print()
    print(f"preset {args.preset} ({n_params:,} params, batch {cfg.batch_size} x block {cfg.block_size}), "
          f"device {device}; median of {args.rounds} rounds x {args.steps} steps after {args.warmup} warm-up")
    if gpu:
        print(f"GPU: {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}, CuPy {cp.__version__}"
              + (f", torch {torch.__version__}" if torch is not None else ''))
    print(f"{'variant':28s} {'ms/step':>8s} {'host ms':>8s} {'tokens/s':>10s} {'peak MiB':>9s} "
          f"{'vs torch':>8s} {'ops':>6s} {'kernels':>8s}")
    for name, seconds, host, peak, ops, kernels in rows:
        ratio = f'{seconds / base:.2f}x' if base else '-'
        print(f'{name:28s} {seconds * 1e3:8.2f} {host * 1e3:8.2f} {tokens / seconds:10.0f} '
              f'{peak / 2**20:9.0f} {ratio:>8s} {ops if ops is not None else "-":>6} '
              f'{kernels if kernels is not None else "-":>8}')
    print(f"(peak MiB: {'allocator high-water mark' if gpu else 'process peak RSS, cumulative'}; "
          f"ops: minitensor Function.apply calls per step; kernels: GPU kernels+copies per step "
          f"seen by CUPTI; host ms: time to enqueue one step)")


if __name__ == '__main__':
    main()
