"""nanoGPT's CPU recipe, step time beside PyTorch: the same model source on both engines.

    python benchmarks/nanogpt_cpu.py [--steps 30] [--rounds 3]

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
    args = parser.parse_args()

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
