"""nanoGPT's CPU recipe, step time beside PyTorch: the same model source on both engines.

    python benchmarks/nanogpt_cpu.py [--steps 30] [--rounds 3] [--threads 1]
    python benchmarks/nanogpt_cpu.py --ops            # the recipe's ops one by one

The model is tests/programs/nanogpt/model.py, a GPT in the style of nanoGPT's model.py
(fused qkv Linear, GELU MLP, biases, weight tying, F.scaled_dot_product_attention),
written against PyTorch's API with `import minitensor as torch`: here it is loaded
twice, once as written and once with its import lines pointing at torch. nanoGPT's
shakespeare_char CPU recipe: batch 12, block 64, 4 layers, 4 heads, 128 wide, dropout 0,
AdamW (lr 1e-3, betas 0.9/0.99, weight decay 0.1 on matrices), grad clip 1.0.
One step = forward + backward + clip + AdamW step + zero_grad on a fixed random batch.
Prints, per engine, the median over the rounds of the CPU time per step (this process's
time.process_time: what other jobs on a shared machine disturb least) and of the wall
time, and their ratios. --threads sets BLAS's and torch's intra-op threads alike
(default 1: on a machine shared with other jobs, extra threads mostly wait).
"""
import argparse
import os
import re
import statistics
import sys
import time
import types
from pathlib import Path


def _threads_argument(argv):
    """--threads N from the command line, read before NumPy loads (BLAS reads its thread
    count from the environment once, at import)."""
    for i, arg in enumerate(argv):
        if arg == '--threads' and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith('--threads='):
            return arg.split('=', 1)[1]
    return '1'


for _var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[_var] = _threads_argument(sys.argv)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MODEL = ROOT / 'tests' / 'programs' / 'nanogpt' / 'model.py'

import minitensor  # noqa: E402
from minitensor import backends  # noqa: E402


def load_model_module(engine):
    """tests/programs/nanogpt/model.py as a module importing `engine` ('minitensor' or 'torch')."""
    source = MODEL.read_text()
    if engine == 'torch':
        source = re.sub(r'^import minitensor as torch$', 'import torch', source, flags=re.M)
        source = re.sub(r'^(from|import) minitensor', r'\1 torch', source, flags=re.M)
    module = types.ModuleType(f'nanogpt_model_{engine}')
    exec(compile(source, str(MODEL), 'exec'), module.__dict__)
    return module


def step_fn(engine, args):
    lib = minitensor if engine == 'minitensor' else __import__('torch')
    model_module = load_model_module(engine)
    lib.manual_seed(1337)
    config = model_module.GPTConfig(block_size=args.block_size, vocab_size=65, n_layer=args.n_layer,
                                    n_head=args.n_head, n_embd=args.n_embd, dropout=0.0, bias=True)
    model = model_module.GPT(config)
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), 'cpu')
    x = lib.randint(0, 65, (args.batch_size, args.block_size))
    y = lib.randint(0, 65, (args.batch_size, args.block_size))

    def step():
        _, loss = model(x, y)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss
    return step


def time_rounds(step, steps, rounds, warmup):
    """(CPU ms/step of each round, wall ms/step of each round)."""
    for _ in range(warmup):
        step()
    cpu, wall = [], []
    for _ in range(rounds):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(steps):
            step()
        cpu.append((time.process_time() - c0) / steps * 1e3)
        wall.append((time.perf_counter() - t0) / steps * 1e3)
    return cpu, wall


def op_cases(lib, args):
    """{name: run()} of the recipe's ops on its shapes, forward + backward (AdamW: a step)."""
    import numpy as np
    rng = np.random.default_rng(0)
    F = lib.nn.functional
    rows, C, H = args.batch_size * args.block_size, args.n_embd, args.n_head

    def leaf(*shape):
        return lib.tensor(rng.standard_normal(shape).astype(np.float32)).requires_grad_(True)

    def grad(*shape):
        return lib.tensor(rng.standard_normal(shape).astype(np.float32))

    x4, g4 = leaf(rows, 4 * C), grad(rows, 4 * C)
    x, w, b, g = leaf(args.batch_size, args.block_size, C), leaf(C), leaf(C), grad(args.batch_size, args.block_size, C)
    q, k, v = (leaf(args.batch_size, H, args.block_size, C // H) for _ in range(3))
    gq = grad(args.batch_size, H, args.block_size, C // H)
    s, gs = leaf(args.batch_size, H, args.block_size, args.block_size), grad(args.batch_size, H, args.block_size, args.block_size)
    logits, target = leaf(rows, 65), lib.tensor(rng.integers(0, 65, rows))
    lin_x, lin_w, lin_b, lin_g = leaf(rows, C), leaf(3 * C, C), leaf(3 * C), grad(rows, 3 * C)
    params = [lib.nn.Parameter(lib.tensor(rng.standard_normal(shape).astype(np.float32)))
              for shape in [(3 * C, C), (3 * C,), (C, C), (C,), (4 * C, C), (4 * C,), (C, 4 * C), (C,), (C,), (C,)]
              * args.n_layer + [(65, C), (args.block_size, C)]]
    for p in params:
        p.grad = lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32))
    adamw = lib.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    return {
        f'gelu ({rows}, {4 * C})': lambda: F.gelu(x4).backward(g4),
        f'layer_norm ({args.batch_size}, {args.block_size}, {C})': lambda: F.layer_norm(x, (C,), w, b).backward(g),
        f'softmax ({args.batch_size}, {H}, {args.block_size}, {args.block_size})': lambda: s.softmax(-1).backward(gs),
        'scaled_dot_product_attention causal': lambda: F.scaled_dot_product_attention(
            q, k, v, is_causal=True).backward(gq),
        f'linear ({rows}, {C}) -> {3 * C}': lambda: F.linear(lin_x, lin_w, lin_b).backward(lin_g),
        f'cross_entropy ({rows}, 65)': lambda: F.cross_entropy(logits, target).backward(),
        'AdamW step (the recipe\'s parameters)': adamw.step,
    }


def op_table(args, engines):
    """Per-op CPU time (least of the rounds) of each engine, and the ratio."""
    import torch
    torch.set_num_threads(args.threads)
    rows = {}
    for engine in engines:
        lib = minitensor if engine == 'minitensor' else torch
        lib.manual_seed(0)
        for name, run in op_cases(lib, args).items():
            for _ in range(args.warmup):
                run()
            best = float('inf')
            for _ in range(args.rounds * 5):
                start = time.process_time()
                run()
                best = min(best, time.process_time() - start)
            rows.setdefault(name, {})[engine] = best * 1e3
    print(f"{'op (fwd + bwd)':46s} {'minitensor':>10s} {'torch':>8s} {'ratio':>6s}   ms CPU, least of {args.rounds * 5}")
    for name, times in rows.items():
        mt_ms, th_ms = times.get('minitensor', float('nan')), times.get('torch', float('nan'))
        print(f'{name:46s} {mt_ms:10.3f} {th_ms:8.3f} {mt_ms / th_ms:6.2f}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=20, help='training steps per timed round')
    parser.add_argument('--rounds', type=int, default=3, help='timed rounds; the median is reported')
    parser.add_argument('--warmup', type=int, default=3, help='untimed steps before the rounds')
    parser.add_argument('--batch-size', type=int, default=12, help="sequences per step (nanoGPT's CPU recipe: 12)")
    parser.add_argument('--block-size', type=int, default=64, help='tokens per sequence (64)')
    parser.add_argument('--n-layer', type=int, default=4, help='transformer blocks (4)')
    parser.add_argument('--n-head', type=int, default=4, help='attention heads (4)')
    parser.add_argument('--n-embd', type=int, default=128, help='model width (128)')
    parser.add_argument('--only', choices=['minitensor', 'torch'], help='time one engine only')
    parser.add_argument('--threads', type=int, default=1,
                        help='BLAS and torch intra-op threads (default 1; read before NumPy loads)')
    parser.add_argument('--ops', action='store_true',
                        help="instead of whole steps, time the recipe's ops one by one (forward + backward)")
    args = parser.parse_args()
    if args.ops:
        backends.tune_cpu_allocator()
        op_table(args, [args.only] if args.only else ['minitensor', 'torch'])
        return

    backends.tune_cpu_allocator()            # as gpt.train does: big temporaries stay on the heap
    engines = [args.only] if args.only else ['minitensor', 'torch']
    results = {}
    for engine in engines:
        if engine == 'torch':
            try:
                import torch
            except ImportError:
                print("torch is not installed: timing minitensor only (pip install torch==2.13.0)")
                continue
            torch.set_num_threads(args.threads)
            print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        cpu, wall = time_rounds(step_fn(engine, args), args.steps, args.rounds, args.warmup)
        results[engine] = statistics.median(cpu), statistics.median(wall)
        print(f"{engine:>10}: {results[engine][0]:7.2f} ms/step CPU, {results[engine][1]:7.2f} wall "
              f"(CPU per round: {', '.join(f'{r:.2f}' for r in cpu)}; {args.threads} BLAS thread(s))")
    if len(results) == 2:
        (mc, mw), (tc, tw) = results['minitensor'], results['torch']
        print(f"ratio minitensor / torch: {mc / tc:.2f}x CPU time, {mw / tw:.2f}x wall")


if __name__ == '__main__':
    main()
