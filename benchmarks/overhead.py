"""Engine overhead: the cost per op of a long chain of tiny elementwise ops with backward.

    python benchmarks/overhead.py [--ops 1000] [--size 16] [--repeats 7] [--device cpu]

On a (16,) tensor the arithmetic is free, so the time per op is the engine's own
bookkeeping: argument checks, building the graph, and the backward sweep. Prints
minitensor's figure beside torch's (when torch is importable) and the ratio.
"""
import argparse
import statistics
import time

import minitensor as mt


def chain(lib, x, n_ops):
    """n_ops elementwise ops alternating tanh and a multiply-add, then backward."""
    y = x
    for i in range(n_ops // 2):
        y = y.tanh() * 1.0001 + 0.0001 if i % 2 else y * 0.999
    y.sum().backward()


def time_chain(lib, n_ops, size, repeats, device):
    x = lib.ones(size, requires_grad=True, device=device)
    chain(lib, x, n_ops // 10)                        # warm-up
    times = []
    for _ in range(repeats):
        x.grad = None
        if device != 'cpu':
            sync(lib)
        start = time.perf_counter()
        chain(lib, x, n_ops)
        if device != 'cpu':
            sync(lib)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sync(lib):
    if lib is mt:
        mt.synchronize('gpu')
    else:
        lib.cuda.synchronize()


def count_ops(n_ops):
    """Forward ops actually recorded by chain(): tanh+mul+add or mul per step, plus sum."""
    return sum(3 if i % 2 else 1 for i in range(n_ops // 2)) + 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ops', type=int, default=1000, help='length of the chain (approximate op count)')
    parser.add_argument('--size', type=int, default=16, help='number of elements of the tensor')
    parser.add_argument('--repeats', type=int, default=7, help='timed repeats; the median is reported')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'gpu'")
    args = parser.parse_args()
    mt.backends.tune_cpu_allocator()      # glibc keeps freed blocks: no page faults per temporary

    ops = count_ops(args.ops)
    rows = [('minitensor', time_chain(mt, args.ops, args.size, args.repeats, args.device))]
    try:
        import torch
        torch_device = 'cuda' if args.device in ('gpu', 'cuda') else 'cpu'
        rows.append((f'torch {torch.__version__}', time_chain(torch, args.ops, args.size, args.repeats, torch_device)))
    except ImportError:
        print('(torch is not importable: showing minitensor only)')
    print(f'{ops} forward ops on a ({args.size},) tensor + backward, device {args.device}, median of {args.repeats}')
    print(f"{'engine':22s} {'total ms':>9s} {'us/op':>7s} {'ratio':>6s}")
    base = rows[-1][1]
    for name, seconds in rows:
        print(f'{name:22s} {seconds * 1e3:9.2f} {seconds / ops * 1e6:7.1f} {seconds / base:6.2f}')


if __name__ == '__main__':
    main()
