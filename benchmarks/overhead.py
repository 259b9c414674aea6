"""Engine overhead: the cost per op of a long chain of tiny elementwise ops with backward,
and the host time of a lecture-shaped GPT training step on tiny tensors.

    python benchmarks/overhead.py [--ops 1000] [--size 16] [--repeats 7] [--device cpu]
    python benchmarks/overhead.py --gpt [--steps 20] [--repeats 7]

On a (16,) tensor the arithmetic is free, so the time per op is the engine's own
bookkeeping: argument checks, building the graph, and the backward sweep. Prints
minitensor's figure beside torch's (when torch is importable) and the ratio.

--gpt times what the lecture's GPT runs per training step (6 blocks of 6 heads,
dropout 0.2, AdamW: the same ops in the same order) at width 48, context 16, batch 4,
so the arithmetic is small and the figure is mostly the host's Python work per step:
the part of the GPU step that the host spends launching kernels.

On the CPU both are measured in CPU time of this process (time.process_time), the
minimum over the repeats: on a machine shared with other jobs that is the figure
other jobs disturb least. One BLAS thread for NumPy and one intra-op thread for torch
(idle BLAS threads spinning on a busy machine would otherwise be counted).
"""
import argparse
import os
import time

for _var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')    # one BLAS thread, as torch's one intra-op thread below

import minitensor as mt  # noqa: E402


def chain(lib, x, n_ops):
    """n_ops elementwise ops alternating tanh and a multiply-add, then backward."""
    y = x
    for i in range(n_ops // 2):
        y = y.tanh() * 1.0001 + 0.0001 if i % 2 else y * 0.999
    y.sum().backward()


def best_time(run, repeats, device, lib):
    """The least CPU time (wall time on a GPU, where the host waits) of `repeats` calls."""
    clock = time.process_time if device == 'cpu' else time.perf_counter
    times = []
    for _ in range(repeats):
        if device != 'cpu':
            sync(lib)
        start = clock()
        run()
        if device != 'cpu':
            sync(lib)
        times.append(clock() - start)
    return min(times)


def time_chain(lib, n_ops, size, repeats, device):
    x = lib.ones(size, requires_grad=True, device=device)
    chain(lib, x, n_ops // 10)                        # warm-up

    def run():
        x.grad = None
        chain(lib, x, n_ops)
    return best_time(run, repeats, device, lib)


def sync(lib):
    if lib is mt:
        mt.synchronize('gpu')
    else:
        lib.cuda.synchronize()


def count_ops(n_ops):
    """Forward ops actually recorded by chain(): tanh+mul+add or mul per step, plus sum."""
    return sum(3 if i % 2 else 1 for i in range(n_ops // 2)) + 1


def gpt_config():
    from gpt.models import GPTConfig
    return GPTConfig(vocab_size=65, block_size=16, n_embd=48, n_head=6, n_layer=6, dropout=0.2)


def time_gpt(lib, steps, repeats, device):
    """Seconds per training step (forward, backward, AdamW) of the lecture-shaped tiny GPT."""
    config = gpt_config()
    if lib is mt:
        from gpt.models import GPT
        mt.manual_seed(0)
        model = GPT(config).to(device)
    else:
        from gpt.torch_reference import build_torch_gpt
        lib.manual_seed(0)
        model = build_torch_gpt(config).to(device)
    model.train()
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    x = lib.randint(0, config.vocab_size, (4, config.block_size), device=device)
    y = lib.randint(0, config.vocab_size, (4, config.block_size), device=device)

    def run():
        for _ in range(steps):
            _, loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    run()                                              # warm-up: optimizer state, caches
    return best_time(run, repeats, device, lib) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--ops', type=int, default=1000, help='length of the chain (approximate op count)')
    parser.add_argument('--size', type=int, default=16, help='number of elements of the tensor')
    parser.add_argument('--repeats', type=int, default=7, help='timed repeats; the least is reported')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'gpu'")
    parser.add_argument('--gpt', action='store_true', help='time the lecture-shaped tiny GPT step instead')
    parser.add_argument('--steps', type=int, default=20, help='GPT steps per timed repeat (--gpt)')
    parser.add_argument('--no-torch', action='store_true', help='minitensor only')
    args = parser.parse_args()
    mt.backends.tune_cpu_allocator()      # glibc keeps freed blocks: no page faults per temporary

    torch = None
    if not args.no_torch:
        try:
            import torch
            torch.set_num_threads(1)
        except ImportError:
            print('(torch is not importable: showing minitensor only)')
    torch_device = 'cuda' if args.device in ('gpu', 'cuda') else 'cpu'
    clock = 'CPU time' if args.device == 'cpu' else 'wall time'
    if args.gpt:
        rows = [('minitensor', time_gpt(mt, args.steps, args.repeats, args.device))]
        if torch is not None:
            rows.append((f'torch {torch.__version__}', time_gpt(torch, args.steps, args.repeats, torch_device)))
        c = gpt_config()
        print(f'GPT step (fwd + bwd + AdamW), {c.n_layer} layers x {c.n_head} heads, n_embd {c.n_embd}, '
              f'block {c.block_size}, batch 4, dropout {c.dropout}, device {args.device}: {clock}, '
              f'least of {args.repeats} x {args.steps} steps')
        print(f"{'engine':22s} {'ms/step':>9s} {'ratio':>6s}")
        for name, seconds in rows:
            print(f'{name:22s} {seconds * 1e3:9.3f} {seconds / rows[-1][1]:6.2f}')
        return

    ops = count_ops(args.ops)
    rows = [('minitensor', time_chain(mt, args.ops, args.size, args.repeats, args.device))]
    if torch is not None:
        rows.append((f'torch {torch.__version__}', time_chain(torch, args.ops, args.size, args.repeats, torch_device)))
    print(f'{ops} forward ops on a ({args.size},) tensor + backward, device {args.device}: {clock}, '
          f'least of {args.repeats}')
    print(f"{'engine':22s} {'total ms':>9s} {'us/op':>7s} {'ratio':>6s}")
    base = rows[-1][1]
    for name, seconds in rows:
        print(f'{name:22s} {seconds * 1e3:9.2f} {seconds / ops * 1e6:7.1f} {seconds / base:6.2f}')


if __name__ == '__main__':
    main()
