"""The speedrun in PyTorch: our own twin of `python -m gpt.train --preset speedrun`.

    python benchmarks/speedrun_torch.py                       # eager, SDPA + TF32 + fused AdamW
    python benchmarks/speedrun_torch.py --compile --bf16      # torch.compile, bf16 autocast

The lecture's GPT as gpt/torch_reference.py builds it (heads batched through SDPA), the
speedrun preset's recipe (the defaults below are gpt.config's `speedrun` preset; a test
keeps them equal), the same 90/10 split of the same corpus, and the same stopping rule
(gpt/stopping.py) on the same fixed validation batches (their offsets drawn by
torch.randint from the seed gpt.train uses, which minitensor's generator reproduces).
Prints the same 'reached val X <= T at step N after S s (from process start)' line and
writes the same log.csv (gpt.plot draws both on one figure). Neither this script nor what
it imports from gpt imports minitensor, so the start-up it reports is PyTorch's own.
"""
import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpt.clock import RunClock  # noqa: E402
from gpt.runlog import CSVLog  # noqa: E402
from gpt.stopping import TargetStop, check_line, evaluation_line, format_target, reached_line  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1] / 'gpt' / 'data' / 'tinyshakespeare.txt'
TRAIN_FRACTION = 0.9            # gpt.data's split

# gpt.config's `speedrun` preset (tests/test_speedrun_tools.py checks that they agree)
RECIPE = dict(batch_size=64, block_size=256, n_embd=384, n_head=6, n_layer=6, dropout=0.2, init='normal',
              max_iters=5000, learning_rate=1e-3, warmup_iters=100, lr_decay_iters=1500, min_lr=1e-4,
              weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=50, eval_iters=100,
              eval_batch_size=64, check_iters=10, target_val=1.5, target_margin=0.02, calibrated_margin=0.02,
              log_interval=50, seed=1337)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cuda', choices=['cuda', 'cpu'], help="where to train")
    p.add_argument('--compile', action='store_true', help="torch.compile the model (compilation counts)")
    p.add_argument('--bf16', action='store_true', help="bf16 autocast for forward and loss (CUDA)")
    p.add_argument('--tf32', action=argparse.BooleanOptionalAction, default=True, help="TF32 matmuls")
    p.add_argument('--fused', action=argparse.BooleanOptionalAction, default=None,
                   help="fused AdamW (default: on CUDA)")
    p.add_argument('--data', default=str(DEFAULT_DATA), help="the corpus (default: tiny shakespeare)")
    p.add_argument('--out', default='runs/speedrun_torch', help="where log.csv goes")
    for name, default in RECIPE.items():
        flags = ('--lr', '--learning-rate') if name == 'learning_rate' else ('--' + name.replace('_', '-'),)
        p.add_argument(*flags, dest=name, type=type(default) if default is not None else int, default=default,
                       help=f"as gpt.train's flag (default {default})")
    return p.parse_args(argv)


def load_corpus(path, np):
    """(ids (N,) int64, vocabulary): gpt.data's CharTokenizer, vectorised, without minitensor."""
    text = Path(path).read_text(encoding='utf-8')
    codes = np.frombuffer(text.encode('utf-32-le', 'surrogatepass'), dtype=np.uint32)     # (N,)
    vocab, ids = np.unique(codes, return_inverse=True)      # sorted code points = sorted characters
    return ids.astype(np.int64).reshape(-1), ''.join(map(chr, vocab))


def fixed_val_batches(torch, val, n, batch_size, block_size, seed, device):
    """gpt.data.FixedBatches: n batches whose offsets come from their own CPU generator seeded
    as gpt.train seeds it (seed + 2), so both engines score the same text. (x, y), (n, B, T) each."""
    offsets = torch.randint(0, len(val) - block_size, (n, batch_size),
                            generator=torch.Generator().manual_seed((seed + 2) % 2 ** 64))      # (n, B)
    idx = offsets.to(device)[:, :, None] + torch.arange(block_size, device=device)           # (n, B, T)
    return val[idx], val[idx + 1]


def learning_rate_at(step, a):
    """gpt.train's schedule (nanoGPT's get_lr): linear warm-up, cosine to min_lr."""
    decay_iters = a.lr_decay_iters if a.lr_decay_iters is not None else a.max_iters
    if step < a.warmup_iters:
        return a.learning_rate * (step + 1) / (a.warmup_iters + 1)
    if step >= decay_iters:
        return a.min_lr
    ratio = (step - a.warmup_iters) / (decay_iters - a.warmup_iters)
    return a.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (a.learning_rate - a.min_lr)


def main(argv=None):
    clock = RunClock()
    a = parse_args(argv)
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"benchmarks/speedrun_torch.py needs PyTorch (pip install torch): {e}", file=sys.stderr)
        return 1
    from gpt.torch_reference import GPTLanguageModel
    clock.mark('torch import')
    if a.device == 'cuda' and not torch.cuda.is_available():
        print("error: no CUDA device for PyTorch; pass --device cpu", file=sys.stderr)
        return 1
    device = torch.device(a.device)
    torch.set_float32_matmul_precision('high' if a.tf32 else 'highest')     # 'high': TF32 matmuls
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.manual_seed(a.seed)
    torch.zeros(1, device=device)                                   # the CUDA context
    clock.mark('device')

    ids, vocab = load_corpus(a.data, np)
    data = torch.from_numpy(ids).to(device)                         # (N,)
    n = int(TRAIN_FRACTION * len(data))
    splits = {'train': data[:n], 'val': data[n:]}
    positions = torch.arange(a.block_size, device=device)           # (T,)
    fixed_x, fixed_y = fixed_val_batches(torch, splits['val'], a.eval_iters, a.eval_batch_size or a.batch_size,
                                         a.block_size, a.seed, device)   # (n, B, T), (n, B, T)
    clock.mark('data')

    model = GPTLanguageModel(len(vocab), a.block_size, a.n_embd, a.n_head, a.n_layer, a.dropout,
                             attention='batched', init=a.init).to(device)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    plain = [p for p in model.parameters() if p.ndim < 2]
    fused = a.fused if a.fused is not None else a.device == 'cuda'
    optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': a.weight_decay},
                                   {'params': plain, 'weight_decay': 0.0}],
                                  lr=a.learning_rate, betas=(a.beta1, a.beta2), fused=fused)
    forward = torch.compile(model) if a.compile else model
    autocast = torch.autocast(device_type=a.device, dtype=torch.bfloat16, enabled=a.bf16)
    clock.mark('model')

    def sync():
        if a.device == 'cuda':
            torch.cuda.synchronize()

    def loss_sum(start, stop):
        model.eval()
        with torch.no_grad(), autocast:
            total = sum(forward(fixed_x[i], fixed_y[i])[1].float() for i in range(start, stop))
        model.train()
        return total.item()

    rule = TargetStop(a.target_val, a.target_margin, min(a.check_iters, a.eval_iters), a.eval_iters,
                      a.calibrated_margin)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    log = CSVLog(Path(a.out) / 'log.csv')
    train = splits['train']
    variant = (f"torch {torch.__version__} {'torch.compile' if a.compile else 'eager'} SDPA"
               f"{' + TF32' if a.tf32 and a.device == 'cuda' else ''}{' + bf16 autocast' if a.bf16 else ''}"
               f"{' + fused AdamW' if fused else ''}")
    print(f"{variant}: GPT ({sum(p.numel() for p in model.parameters()):,} parameters) on {a.device}, batch "
          f"{a.batch_size} x {a.block_size}, to val <= {format_target(a.target_val)} (max_iters {a.max_iters})",
          flush=True)

    step, loss_total, interval_steps, train_mean, steps_in_mean = 0, None, 0, math.nan, 0
    interval_start = time.perf_counter()
    step_ms = tokens_per_s = math.nan
    reached = check = None
    first_step_done = False
    while True:
        if step and (step % a.eval_interval == 0 or step == a.max_iters):
            if interval_steps:
                elapsed = time.perf_counter() - interval_start
                train_mean, steps_in_mean = loss_total.item() / interval_steps, interval_steps
                step_ms = 1000 * elapsed / interval_steps
                tokens_per_s = a.batch_size * a.block_size * interval_steps / elapsed
                loss_total, interval_steps = None, 0
            started = time.perf_counter()
            check = rule.check(step, loss_sum, force_full=step == a.max_iters)
            rule.seconds += time.perf_counter() - started
            seconds = clock.now()
            if not clock.has('first eval'):
                clock.mark('first eval', since=started)
                print(clock.breakdown(), flush=True)
            print(check_line(check, train_mean, steps_in_mean), flush=True)
            log.append(step=step, train_loss=f"{train_mean:.6f}", val_loss=f"{check.val:.6f}",
                       lr=f"{learning_rate_at(step - 1, a):.6g}", step_ms=f"{step_ms:.3f}",
                       tokens_per_s=f"{tokens_per_s:.1f}", time_s=f"{seconds:.3f}", val_iters=check.batches)
            if check.reached:
                reached = check
                print(reached_line(check, a.target_val, seconds, clock.origin()), flush=True)
                print(evaluation_line(rule), flush=True)
                break
            interval_start = time.perf_counter()
        if step == a.max_iters:
            break
        lr = learning_rate_at(step, a)
        for group in optimizer.param_groups:
            group['lr'] = lr
        offsets = torch.randint(0, len(train) - a.block_size, (a.batch_size,), device=device)   # (B,)
        bidx = offsets[:, None] + positions                                                   # (B, T)
        started = time.perf_counter()
        with autocast:
            _, loss = forward(train[bidx], train[bidx + 1])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        optimizer.step()
        step += 1
        interval_steps += 1
        loss_total = loss.detach().float() if loss_total is None else loss_total + loss.detach().float()
        if not first_step_done:
            sync()
            clock.mark('first step', since=started)
            first_step_done = True
        if step % a.log_interval == 0:
            print(f"step {step:>6}/{a.max_iters} | lr {lr:.2e}", flush=True)
    if reached is None:
        print(evaluation_line(rule))
        print(f"did not reach val <= {format_target(a.target_val)} in {step} steps (--max-iters): final val "
              f"{check.val:.4f} over {check.batches} batches after {clock.now():.1f} s ({clock.origin()})")
    print(f"done: {step} steps; val loss {check.val:.4f}; log {Path(a.out) / 'log.csv'}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
