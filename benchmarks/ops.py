"""Per-op forward+backward times on the lecture GPT's shapes: minitensor (fused and
portable) beside torch, on the GPU.

    python benchmarks/ops.py [--repeats 50]

Each op runs forward, then backward from a fixed upstream gradient; the median of
`repeats` synchronized runs is reported after warm-up.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minitensor as mt  # noqa: E402
import minitensor.nn.functional as F  # noqa: E402
from minitensor import backend  # noqa: E402

B, T, C, NH, V = 64, 256, 384, 6, 65
HS = C // NH


def median_ms(fn, sync, repeats):
    for _ in range(3):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def cases(lib, dev):
    """name -> (inputs requiring grad, forward fn) for one library."""
    rng = np.random.default_rng(0)
    f32 = lambda *s: lib.tensor(rng.standard_normal(s).astype(np.float32), device=dev, requires_grad=True)  # noqa
    tgt = lib.tensor(rng.integers(0, V, B * T), device=dev)
    idx = lib.tensor(rng.integers(0, V, (B, T)), device=dev)
    tril = lib.tril(lib.ones(T, T, device=dev))
    TF = F if lib is mt else __import__('torch').nn.functional
    x, w1 = f32(B, T, C), f32(4 * C, C)
    s = f32(B, NH, T, T)
    ln_w, ln_b = f32(C), f32(C)
    logits = f32(B * T, V)
    table = f32(V, C)
    out = {
        'matmul (B*T,C)@(C,4C)': ((x, w1), lambda: TF.linear(x, w1)),
        'attn scores q@k^T': ((s,), None),
        'softmax (B,nh,T,T)': ((s,), lambda: TF.softmax(s, dim=-1)),
        'masked softmax+dropout': ((s,), lambda: TF.dropout(TF.softmax(
            (s * HS ** -0.5).masked_fill(tril == 0, float('-inf')), dim=-1), 0.2)),
        'layer_norm (B,T,C)': ((x, ln_w, ln_b), lambda: TF.layer_norm(x, (C,), ln_w, ln_b)),
        'cross_entropy (B*T,V)': ((logits,), lambda: TF.cross_entropy(logits, tgt)),
        'embedding (B,T)->C': ((table,), lambda: TF.embedding(idx, table)),
    }
    if lib is mt:
        out['fused causal_softmax'] = ((s,), lambda: F.causal_softmax(s, HS ** -0.5, 0.2))
    q, k = f32(B, NH, T, HS), f32(B, NH, T, HS)
    out['attn scores q@k^T'] = ((q, k), lambda: q @ k.transpose(-2, -1))
    return out


def run(lib, dev, sync, repeats):
    results = {}
    for name, (inputs, fn) in cases(lib, dev).items():
        def step():
            for t in inputs:
                t.grad = None
            y = fn()
            y.backward(lib.ones_like(y))
        results[name] = median_ms(step, sync, repeats)
    return results


def adamw_ms(lib, dev, sync, repeats):
    """One AdamW step over the lecture GPT's parameter shapes."""
    if lib is mt:
        from gpt.models import GPT, GPTConfig
        model = GPT(GPTConfig()).to(dev)
        opt = mt.optim.AdamW(model.parameters(), lr=3e-4)
    else:
        from gpt.torch_reference import build_torch_gpt
        model = build_torch_gpt().to(dev)
        opt = lib.optim.AdamW(model.parameters(), lr=3e-4)
    for p in model.parameters():
        p.grad = lib.ones_like(p) * 1e-3
    return median_ms(opt.step, sync, repeats)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repeats', type=int, default=30, help='timed runs per op; the median is reported')
    args = p.parse_args()
    mt.backends.tune_cpu_allocator()      # glibc keeps freed blocks: no page faults per temporary
    cp = backend.cupy_module()
    sync = cp.cuda.get_current_stream().synchronize
    columns = {}
    for label, fused in (('mt fused', True), ('mt portable', False)):
        mt.backends.fast_paths = fused
        columns[label] = run(mt, 'gpu', sync, args.repeats)
        columns[label]['AdamW step (all params)'] = adamw_ms(mt, 'gpu', sync, args.repeats)
    mt.backends.fast_paths = True
    try:
        import torch
        columns['torch'] = run(torch, 'cuda', torch.cuda.synchronize, args.repeats)
        columns['torch']['AdamW step (all params)'] = adamw_ms(torch, 'cuda', torch.cuda.synchronize, args.repeats)
    except ImportError:
        print('(torch is not importable: showing minitensor only)')
    names = list(columns['mt fused'])
    print(f"forward+backward ms, median of {args.repeats}; shapes B={B} T={T} C={C} heads={NH} vocab={V}")
    print(f"{'op':28s}" + ''.join(f'{c:>13s}' for c in columns))
    for name in names:
        print(f'{name:28s}' + ''.join(f"{columns[c].get(name, float('nan')):13.3f}" for c in columns))


if __name__ == '__main__':
    main()
