"""A small CNN's CPU training step (forward + backward + SGD), minitensor beside torch.

    python benchmarks/cnn_step.py [--batch 64] [--repeats 30] [--threads N]

Conv2d(1, 8, 3) -> ReLU -> MaxPool2d(2) -> Conv2d(8, 16, 3) -> ReLU -> MaxPool2d(2)
-> Flatten -> Linear(400, 10) on a (batch, 1, 28, 28) float32 batch, cross-entropy.
The same code runs on both libraries (`lib` is minitensor or torch); medians after
warm-up. --threads sets torch's intra-op threads (NumPy's BLAS uses its own setting).
Like gpt.train, it first calls mt.backends.tune_cpu_allocator() (glibc keeps freed
blocks, as torch's allocator does, instead of page-faulting every temporary anew).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minitensor as mt  # noqa: E402


def make_model(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 5 * 5, 10))


def step_ms(lib, x, y, repeats):
    """Median ms of one step, and the step's parts: forward, backward, optimizer."""
    lib.manual_seed(0)
    model = make_model(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = lib.tensor(x), lib.tensor(y)
    parts = {'forward': [], 'backward': [], 'step': [], 'total': []}
    for i in range(repeats + 3):
        t0 = time.perf_counter()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if i >= 3:
            for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
                parts[k].append(v * 1e3)
    return {k: statistics.median(v) for k, v in parts.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--batch', type=int, default=64, help='images per step')
    ap.add_argument('--repeats', type=int, default=30, help='timed steps (after 3 warm-up)')
    ap.add_argument('--threads', type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = ap.parse_args()
    mt.backends.tune_cpu_allocator()   # reuse freed blocks instead of page-faulting fresh ones
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, args.batch)
    rows = [('minitensor', step_ms(mt, x, y, args.repeats))]
    try:
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        rows.append((f'torch {torch.__version__} ({torch.get_num_threads()} threads)',
                     step_ms(torch, x, y, args.repeats)))
    except ImportError:
        print("(torch is not installed: minitensor only)")
    print(f"CNN step on a ({args.batch}, 1, 28, 28) batch, median of {args.repeats} steps, ms")
    print(f"{'':32} {'forward':>8} {'backward':>9} {'step':>6} {'total':>7}")
    for name, r in rows:
        print(f"{name:32} {r['forward']:8.2f} {r['backward']:9.2f} {r['step']:6.2f} {r['total']:7.2f}")
    if len(rows) == 2:
        print(f"ratio minitensor / torch: {rows[0][1]['total'] / rows[1][1]['total']:.2f}x")


if __name__ == '__main__':
    main()
