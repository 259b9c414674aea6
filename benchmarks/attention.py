"""Causal attention forward+backward on the lecture GPT's shapes: minitensor's kernels
beside torch's F.scaled_dot_product_attention, on the GPU.

    python benchmarks/attention.py [--repeats 30] [--dropout 0.2] [--T 256]

Rows: minitensor's FlashAttention (the engine's default; float32 on CUDA cores, and TF32
tensor cores under mt.backends.allow_tf32), the earlier CausalSoftmax
fusion (cuBLAS q@k^T, one softmax+dropout kernel, cuBLAS @v), the portable lecture chain
(fast paths off), minitensor's flash on float16, and torch's SDPA in float32, float16
and bfloat16 (torch optional; bfloat16 rows for minitensor come with its bfloat16 tensors).
Each is the median of `repeats` synchronized forward+backward runs after warm-up, with the
CuPy pool's growth during one run (torch: max_memory_allocated over its inputs).
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
from minitensor.ops import dispatch  # noqa: E402


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


def minitensor_row(kernel, fast, tf32, arrays, p, repeats, dtype=None):
    cp = backend.cupy_module()
    sync = cp.cuda.get_current_stream().synchronize
    saved = mt.backends.fast_paths, dispatch.ATTENTION_KERNEL, mt.backends.allow_tf32
    mt.backends.fast_paths, dispatch.ATTENTION_KERNEL, mt.backends.allow_tf32 = fast, kernel, tf32
    q, k, v, g = (mt.tensor(a, device='gpu', dtype=dtype) for a in arrays)

    def step():
        ts = [t.detach().requires_grad_(True) for t in (q, k, v)]
        F.scaled_dot_product_attention(*ts, dropout_p=p, is_causal=True).backward(g)
    ms = median_ms(step, sync, repeats)
    pool = cp.get_default_memory_pool()
    pool.free_all_blocks()
    base = pool.total_bytes()
    step()
    sync()
    mt.backends.fast_paths, dispatch.ATTENTION_KERNEL, mt.backends.allow_tf32 = saved
    return ms, (pool.total_bytes() - base) / 2**20


def torch_row(torch, dtype, arrays, p, repeats):
    q, k, v, g = (torch.tensor(a, device='cuda', dtype=dtype) for a in arrays)

    def step():
        ts = [t.detach().requires_grad_(True) for t in (q, k, v)]
        torch.nn.functional.scaled_dot_product_attention(*ts, dropout_p=p, is_causal=True).backward(g)
    ms = median_ms(step, torch.cuda.synchronize, repeats)
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return ms, (torch.cuda.max_memory_allocated() - base) / 2**20


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--repeats', type=int, default=30, help='timed runs per row; the median is reported')
    ap.add_argument('--dropout', type=float, default=0.2, help='dropout p on the attention weights')
    ap.add_argument('--B', type=int, default=64, help='batch')
    ap.add_argument('--heads', type=int, default=6, help='heads')
    ap.add_argument('--T', type=int, default=256, help='sequence length')
    ap.add_argument('--hd', type=int, default=64, help='head size')
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    shape = (args.B, args.heads, args.T, args.hd)
    arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(4)]      # q, k, v, dO
    rows = {}
    for label, kernel, fast, tf32 in (('mt flash (fp32)', 'flash', True, False),
                                      ('mt flash (tf32)', 'flash', True, True),
                                      ('mt causal_softmax (fp32)', 'causal_softmax', True, False),
                                      ('mt causal_softmax (tf32)', 'causal_softmax', True, True),
                                      ('mt portable (fp32)', 'flash', False, False)):
        rows[label] = minitensor_row(kernel, fast, tf32, arrays, args.dropout, args.repeats)
    rows['mt flash (fp16)'] = minitensor_row('flash', True, False, arrays, args.dropout, args.repeats, mt.float16)
    try:
        import torch
    except ImportError:
        print('(torch is not importable: showing minitensor only)')
    else:
        for label, dtype in (('torch SDPA (fp32)', torch.float32), ('torch SDPA (fp16)', torch.float16),
                             ('torch SDPA (bf16)', torch.bfloat16)):
            torch.backends.cuda.matmul.allow_tf32 = False
            try:
                rows[label] = torch_row(torch, dtype, arrays, args.dropout, args.repeats)
            except RuntimeError as e:                 # no CUDA torch, or no kernel for the dtype
                print(f'({label}: {str(e).splitlines()[0]})')
    print(f"causal attention forward+backward, B={args.B} heads={args.heads} T={args.T} hd={args.hd} "
          f"dropout={args.dropout}; median of {args.repeats}")
    print(f"{'':28s}{'ms':>10s}{'MiB':>10s}")
    for label, (ms, mib) in rows.items():
        print(f'{label:28s}{ms:10.3f}{mib:10.0f}')


if __name__ == '__main__':
    main()
