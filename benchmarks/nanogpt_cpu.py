"""nanoGPT's CPU recipe, step time beside PyTorch: the same model source on both engines.

    python benchmarks/nanogpt_cpu.py [--steps 30] [--rounds 3]

The model is tests/programs/nanogpt/model.py, a GPT in the style of nanoGPT's model.py
(fused qkv Linear, GELU MLP, biases, weight tying, F.scaled_dot_product_attention),
written against PyTorch's API with `import minitensor as torch`: here it is loaded
twice, once as written and once with its import lines pointing at torch. nanoGPT's
shakespeare_char CPU recipe: batch 12, block 64, 4 layers, 4 heads, 128 wide, dropout 0,
AdamW (lr 1e-3, betas 0.9/0.99, weight decay 0.1 on matrices), grad clip 1.0.
One step = forward + backward + clip + AdamW step + zero_grad on a fixed random batch.
Prints the median ms/step of each engine's rounds and their ratio.
"""
import argparse
import re
import statistics
import sys
import time
import types
from pathlib import Path

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
    for _ in range(warmup):
        step()
    per_step = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        per_step.append((time.perf_counter() - t0) / steps * 1e3)
    return statistics.median(per_step), per_step


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
            print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        median, rounds = time_rounds(step_fn(engine, args), args.steps, args.rounds, args.warmup)
        results[engine] = median
        print(f"{engine:>10}: {median:7.2f} ms/step (rounds: {', '.join(f'{r:.2f}' for r in rounds)})")
    if len(results) == 2:
        print(f"ratio minitensor / torch: {results['minitensor'] / results['torch']:.2f}x")


if __name__ == '__main__':
    main()
