"""One rank of the data-parallel tests (tests/test_distributed.py starts it under mpiexec
or minitensor.distributed.run), and the single-process reference they compare with.

A tiny language model with a tied embedding/output matrix trains for --steps AdamW
steps on a global batch of GLOBAL_B rows per step; each rank takes its contiguous share.
Rank 0 writes the final parameters to --out (.npz).
"""
import argparse
import os
import signal
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import minitensor as mt  # noqa: E402
import minitensor.distributed as dist  # noqa: E402
import minitensor.nn as nn  # noqa: E402
import minitensor.nn.functional as F  # noqa: E402
from minitensor.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

VOCAB, T, GLOBAL_B = 11, 6, 8


class TiedLM(nn.Module):
    """Embedding -> LayerNorm -> Linear+GELU -> logits through the embedding matrix again."""

    def __init__(self, width=16):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, width)
        self.ln = nn.LayerNorm(width)
        self.fc = nn.Linear(width, width)

    def forward(self, idx, targets):
        x = self.emb(idx)                                  # (B, T, C)
        x = x + F.gelu(self.fc(self.ln(x)))                # (B, T, C)
        logits = x @ self.emb.weight.transpose(0, 1)       # (B, T, V): the tied weight's second use
        return F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))


def batch(step):
    rng = np.random.default_rng(1000 + step)
    x = rng.integers(0, VOCAB, (GLOBAL_B, T))
    return mt.tensor(x), mt.tensor((x * 3 + 1) % VOCAB)


def make_model(width=16):
    mt.manual_seed(0)
    return TiedLM(width)


def reference(steps):
    """One process, the whole global batch per step: what DDP must reproduce."""
    model = make_model()
    opt = mt.optim.AdamW(model.parameters(), lr=1e-2)
    for step in range(steps):
        x, y = batch(step)
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {n: p.detach().numpy().copy() for n, p in model.named_parameters()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--backend', default=None)
    ap.add_argument('--mode', default='train', choices=['train', 'no_sync', 'mismatch', 'die', 'exit'])
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--out', default=None)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--timeout', type=float, default=60, help='seconds a collective may wait')
    args = ap.parse_args()

    dist.init_process_group(args.backend, timeout=args.timeout)
    rank, world = dist.get_rank(), dist.get_world_size()
    if rank != 0:
        mt.manual_seed(rank)          # DDP's broadcast must make the replicas equal anyway
    model = make_model(16 + (rank if args.mode == 'mismatch' else 0)).to(args.device)
    if rank != 0:
        with mt.no_grad():
            for p in model.parameters():
                p.data += 1.0     # differs from rank 0 until DDP broadcasts
    # a tiny bucket cap: several buckets, so per-bucket readiness is exercised
    ddp = DDP(model, bucket_cap_mb=300 / 2 ** 20)
    opt = mt.optim.AdamW(ddp.parameters(), lr=1e-2)
    share = GLOBAL_B // world
    for step in range(args.steps):
        if args.mode == 'die' and rank == world - 1 and step == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        if args.mode == 'exit' and rank == world - 1 and step == 1:
            sys.exit(1)               # leaves quietly while the others wait in the next all-reduce
        x, y = batch(step)
        x, y = x[rank * share:(rank + 1) * share].to(args.device), y[rank * share:(rank + 1) * share].to(args.device)
        opt.zero_grad(set_to_none=True)
        if args.mode == 'no_sync':    # two micro-batches, communication on the second only
            half = share // 2
            with ddp.no_sync():
                (ddp(x[:half], y[:half]) / 2).backward()
            (ddp(x[half:], y[half:]) / 2).backward()
        else:
            ddp(x, y).backward()
        opt.step()
    if rank == 0 and args.out:
        np.savez(args.out, **{n: p.detach().cpu().numpy() for n, p in ddp.module.named_parameters()})
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
