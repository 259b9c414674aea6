"""Data-parallel training-step time of a GPT preset: N ranks, each with the preset's batch
(so the global batch is batch_size x N), against one process without DDP.

    python benchmarks/ddp_step.py --device gpu --preset lecture --plain       # one GPU, no DDP
    python -m minitensor.distributed.run --nproc-per-node 2 benchmarks/ddp_step.py --device gpu --preset lecture
    mpiexec -n 2 python benchmarks/ddp_step.py --device cpu --preset small

Each timed round runs --steps steps back to back (forward, backward with the bucketed
all-reduce, AdamW) on a fixed random batch and synchronizes the device only at its ends;
rank 0 prints the median round as ms/step and global tokens/s. Scaling efficiency at N =
tokens/s at N / (N x tokens/s of --plain).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minitensor as mt  # noqa: E402
import minitensor.distributed as dist  # noqa: E402
from minitensor.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

from gpt.config import preset as make_preset  # noqa: E402
from gpt.models import GPT, GPTConfig  # noqa: E402

VOCAB = 65


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='gpu', help="'gpu' or 'cpu'")
    ap.add_argument('--preset', default='lecture', help='a gpt.train preset (lecture, small, ...)')
    ap.add_argument('--batch-size', type=int, default=None, help="per-rank batch (default: the preset's)")
    ap.add_argument('--steps', type=int, default=10, help='steps per timed round')
    ap.add_argument('--rounds', type=int, default=5, help='timed rounds (the median is reported)')
    ap.add_argument('--tf32', action='store_true', help='TF32 matmuls on the GPU')
    ap.add_argument('--plain', action='store_true', help='one process, no process group, no DDP')
    ap.add_argument('--bucket-cap-mb', type=float, default=25, help="DDP's bucket size")
    args = ap.parse_args()

    mt.backends.tune_cpu_allocator()      # as gpt.train: glibc keeps freed blocks (no page faults)
    cfg = make_preset(args.preset)
    batch = args.batch_size or cfg.batch_size
    mt.backends.allow_tf32 = args.tf32
    world, rank = 1, 0
    if not args.plain:
        dist.init_process_group('nccl' if args.device == 'gpu' else None)
        world, rank = dist.get_world_size(), dist.get_rank()
    mt.manual_seed(1337)
    model = GPT(GPTConfig(vocab_size=VOCAB, block_size=cfg.block_size, n_embd=cfg.n_embd, n_head=cfg.n_head,
                          n_layer=cfg.n_layer, dropout=cfg.dropout)).to(args.device)
    if not args.plain:
        model = DDP(model, broadcast_buffers=False, bucket_cap_mb=args.bucket_cap_mb)
    opt = mt.optim.AdamW(model.parameters(), lr=cfg.learning_rate)
    mt.manual_seed(rank)
    xb = mt.randint(0, VOCAB, (batch, cfg.block_size), device=args.device)
    yb = mt.randint(0, VOCAB, (batch, cfg.block_size), device=args.device)

    def run(n):
        for _ in range(n):
            _, loss = model(xb, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        mt.synchronize(args.device)

    run(3)                                          # warm-up: kernels compiled, pools filled
    times = []
    for _ in range(args.rounds):
        if not args.plain:
            dist.barrier()
        start = time.perf_counter()
        run(args.steps)
        times.append((time.perf_counter() - start) / args.steps)
    ms = 1000 * statistics.median(times)
    if rank == 0:
        tokens = batch * cfg.block_size * world
        backend = 'plain' if args.plain else dist.get_backend()
        print(f"{args.preset} on {args.device} ({backend}), {world} rank(s), global batch {batch * world}: "
              f"{ms:.2f} ms/step, {tokens / ms * 1000:,.0f} tokens/s", flush=True)
    if not args.plain:
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
