"""`python -m gpt.train`: train the bigram model or the GPT on a text file.

    python -m gpt.train                                  # the `small` preset on the CPU
    python -m gpt.train --preset lecture --device gpu    # the lecture's GPT
    python -m gpt.train --out runs/small --resume        # continue a stopped run

Every eval writes `<out>/ckpt.npz` (atomically) and a row of `<out>/log.csv`; Ctrl-C
stops after the current step and saves a checkpoint. The training step never waits
for the device: the loss is summed on the device and read every log_interval steps.
"""
import argparse
import csv
import math
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

import minitensor as mt

from . import checkpoint as ckpt_io
from .config import DEFAULT_PRESET, PRESETS, TrainConfig, preset
from .data import CharTokenizer, TextBatches, load_text
from .models import INITS

CSV_FIELDS = ('step', 'train_loss', 'val_loss', 'lr', 'step_ms', 'tokens_per_s')
ARCHITECTURE_FIELDS = ('model', 'n_embd', 'n_head', 'n_layer', 'block_size')


# ---------------------------------------------------------------- pieces of a run

def make_optimizer(model, cfg):
    """AdamW; with decay_all_params=False only >= 2-D tensors decay (nanoGPT's grouping)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.decay_all_params:
        groups = [{'params': params, 'weight_decay': cfg.weight_decay}]
    else:
        groups = [{'params': [p for p in params if p.ndim >= 2], 'weight_decay': cfg.weight_decay},
                  {'params': [p for p in params if p.ndim < 2], 'weight_decay': 0.0}]
        groups = [g for g in groups if g['params']]
    return mt.optim.AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2))


def learning_rate_at(step, cfg):
    if not cfg.decay_lr:
        return cfg.learning_rate
    decay_iters = cfg.lr_decay_iters if cfg.lr_decay_iters is not None else cfg.max_iters
    return mt.optim.get_cosine_schedule(step, cfg.learning_rate, cfg.warmup_iters, decay_iters, cfg.min_lr)


def estimate_loss(model, data, eval_iters, seed):
    """Mean loss over eval_iters batches of each split, in eval mode; one host sync.

    The batches come from their own generator, seeded the same way at every eval: each
    eval scores the same text (so evals compare like with like), and evaluating never
    moves the training's random stream, so a resumed run continues exactly.
    """
    generator = mt.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    means = []
    with mt.no_grad():
        for split in ('train', 'val'):
            total = None
            for _ in range(eval_iters):
                x, y = data.get_batch(split, generator)
                _, loss = model(x, y)
                total = loss if total is None else total + loss     # stays on the device
            means.append(total / eval_iters)
    model.train(was_training)
    train_loss, val_loss = mt.stack(means).tolist()                 # the one sync
    return {'train': train_loss, 'val': val_loss}


class StopRequest:
    """Turn the first Ctrl-C into a flag the loop checks between steps, so the checkpoint
    is taken at a step boundary (consistent weights, optimizer and RNG); a second Ctrl-C
    interrupts at once."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:          # not the main thread: leave Ctrl-C alone
            self._previous = None
        return self

    def _handle(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\nCtrl-C: stopping after this step and saving a checkpoint "
              "(press Ctrl-C again to abort without saving)", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Progress:
    """A tqdm bar when it is available and stdout is a terminal, else plain lines."""

    def __init__(self, start, total, enabled):
        self.bar = None
        if enabled and sys.stdout.isatty():
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, initial=start, unit='step', dynamic_ncols=True)
            except ImportError:
                pass
        self.total = total

    def update(self, step, steps_done, loss, lr, step_ms, tokens_per_s):
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {loss:.4f} | {tokens_per_s:,.0f} tok/s | {step_ms:.1f} ms/step",
                                     refresh=False)
            self.bar.update(steps_done)
        else:
            print(f"step {step:>6}/{self.total} | loss {loss:.4f} | lr {lr:.2e} | {step_ms:7.1f} ms/step "
                  f"| {tokens_per_s:>9,.0f} tok/s", flush=True)

    def write(self, line):
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class CSVLog:
    """log.csv of the evals; on resume, rows after the resumed step are dropped."""

    def __init__(self, path, resume_step=None):
        self.path = path
        rows = []
        if resume_step is not None and path.is_file():
            with open(path, newline='') as f:
                rows = [r for r in csv.DictReader(f) if int(r['step']) <= resume_step]
        with open(path, 'w', newline='') as f:
            writer = csv.DictWriter(f, CSV_FIELDS)
            writer.writeheader()
            writer.writerows(rows)

    def append(self, **row):
        with open(self.path, 'a', newline='') as f:
            csv.DictWriter(f, CSV_FIELDS).writerow(row)


# ---------------------------------------------------------------- the run

def prepare_run(cfg, resume):
    """(cfg, model, optimizer, tokenizer, data, start_step, best_val) for a new or resumed run."""
    out_dir = Path(cfg.out_dir)
    ckpt_path = out_dir / ckpt_io.CHECKPOINT_NAME
    device = mt.zeros(1, device=cfg.device).device      # fails early, and clearly, without CuPy
    if cfg.tf32:
        mt.backends.allow_tf32 = True
    mt.manual_seed(cfg.seed)
    text = load_text(cfg.data)
    if resume:
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}; start a new run without "
                                    f"--resume, or pass the --out DIR of the run to continue")
        ckpt = ckpt_io.load_checkpoint(ckpt_path)
        tokenizer = CharTokenizer.from_string(ckpt['vocab'])
        start_step, best_val = ckpt['step'], ckpt['best_val_loss']
        if start_step >= cfg.max_iters:
            raise ValueError(f"--resume: the checkpoint at {ckpt_path} is already at step {start_step} "
                             f"of max_iters {cfg.max_iters}; pass a larger --max-iters to train further")
    else:
        tokenizer = CharTokenizer.from_text(text)
        start_step, best_val = 0, math.inf
    # the data first: a corpus too short for block_size fails before a big model is built
    data = TextBatches(text, tokenizer, cfg.block_size, cfg.batch_size, device)
    model = ckpt_io.build_model(ckpt['model_spec'] if resume else
                                ckpt_io.model_spec(cfg.model, tokenizer.vocab_size, cfg))
    model.to(device)
    optimizer = make_optimizer(model, cfg)
    if resume:
        model.load_state_dict(ckpt['model_state'])
        optimizer.load_state_dict(ckpt['optimizer_state'])
        mt.default_generator.set_state(ckpt['rng_state'])
    return model, optimizer, tokenizer, data, start_step, best_val


def train(cfg, resume=False, log=print):
    """Run (or resume) training as `cfg` says; returns a summary dict."""
    cfg.validate()
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / ckpt_io.CHECKPOINT_NAME
    model, optimizer, tokenizer, data, start_step, best_val = prepare_run(cfg, resume)
    spec = ckpt_io.model_spec(cfg.model, tokenizer.vocab_size, cfg)
    csv_log = CSVLog(out_dir / 'log.csv', resume_step=start_step if resume else None)
    n_params = model.num_parameters()
    log(f"{'resuming' if resume else 'training'} {type(model).__name__} ({n_params:,} parameters) on "
        f"{data.device} from step {start_step} to {cfg.max_iters}; batch {cfg.batch_size} x "
        f"{cfg.block_size}, vocab {tokenizer.vocab_size}; writing to {out_dir}/")

    def save(step):
        ckpt_io.save_checkpoint(ckpt_path, model=model, optimizer=optimizer, step=step, spec=spec,
                                train_config=cfg, tokenizer=tokenizer, best_val_loss=best_val)

    tokens_per_step = cfg.batch_size * cfg.block_size
    progress = Progress(start_step, cfg.max_iters, cfg.progress)
    loss_sum, loss_count = None, 0               # training loss summed on the device
    interval_start, interval_steps = time.perf_counter(), 0
    last = {'step_ms': math.nan, 'tokens_per_s': math.nan, 'lr': learning_rate_at(start_step, cfg)}
    losses = {}
    step = start_step
    wall_start = time.perf_counter()
    model.train()

    def read_interval():
        """Sync once: the mean training loss and speed since the last read."""
        nonlocal loss_sum, loss_count, interval_start, interval_steps
        mean = (loss_sum / loss_count).item() if loss_count else math.nan
        elapsed = time.perf_counter() - interval_start
        if interval_steps:
            last['step_ms'] = 1000 * elapsed / interval_steps
            last['tokens_per_s'] = tokens_per_step * interval_steps / elapsed
        progress.update(step, interval_steps, mean, last['lr'], last['step_ms'], last['tokens_per_s'])
        loss_sum, loss_count, interval_steps = None, 0, 0
        interval_start = time.perf_counter()

    def evaluate():
        nonlocal best_val, losses, interval_start
        if interval_steps:
            read_interval()
        losses = estimate_loss(model, data, cfg.eval_iters, seed=cfg.seed + 1)
        best_val = min(best_val, losses['val'])
        progress.write(f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        csv_log.append(step=step, train_loss=f"{losses['train']:.6f}", val_loss=f"{losses['val']:.6f}",
                       lr=f"{last['lr']:.6g}", step_ms=f"{last['step_ms']:.3f}",
                       tokens_per_s=f"{last['tokens_per_s']:.1f}")
        save(step)
        interval_start = time.perf_counter()   # eval time is not training time

    stopped = False
    try:
        with StopRequest() as stop:
            while step < cfg.max_iters:
                # a resumed run was evaluated (and saved) at start_step already
                if step % cfg.eval_interval == 0 and not (resume and step == start_step):
                    evaluate()
                if stop.requested:
                    stopped = True
                    break
                lr = learning_rate_at(step, cfg)
                for group in optimizer.param_groups:
                    group['lr'] = lr
                xb, yb = data.get_batch('train')                     # (B, T), (B, T)
                _, loss = model(xb, yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip > 0:
                    mt.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                step += 1
                last['lr'] = lr
                loss_sum = loss.detach() if loss_sum is None else loss_sum + loss.detach()
                loss_count += 1
                interval_steps += 1
                if step % cfg.log_interval == 0:
                    read_interval()
            if stopped:
                save(step)
            else:
                evaluate()                                           # the final losses and checkpoint
    finally:
        progress.close()
    wall_s = time.perf_counter() - wall_start
    if stopped:
        log(f"stopped at step {step}; checkpoint saved to {ckpt_path}; continue with "
            f"`python -m gpt.train --out {out_dir} --resume`")
        return {'step': step, 'stopped': True, 'wall_s': wall_s, 'checkpoint': str(ckpt_path)}
    log(f"done: {step} steps in {wall_s:.1f} s; train loss {losses['train']:.4f}, val loss "
        f"{losses['val']:.4f} (best {best_val:.4f}); checkpoint {ckpt_path}")
    summary = {'step': step, 'stopped': False, 'wall_s': wall_s, 'train_loss': losses['train'],
               'val_loss': losses['val'], 'best_val_loss': best_val, 'checkpoint': str(ckpt_path)}
    if cfg.sample_tokens:
        context = mt.zeros((1, 1), dtype=mt.int64, device=data.device)           # (1, 1): a newline
        text = tokenizer.decode(model.generate(context, cfg.sample_tokens)[0])
        (out_dir / 'sample.txt').write_text(text, encoding='utf-8')
        log(f"--- a sample of {cfg.sample_tokens} characters ---\n{text}")
        summary['sample'] = text
    return summary


# ---------------------------------------------------------------- command line

class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage dump), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# flag -> TrainConfig field, for the flags that override the preset
OVERRIDES = {
    'model': 'model', 'max_iters': 'max_iters', 'batch_size': 'batch_size', 'block_size': 'block_size',
    'n_embd': 'n_embd', 'n_head': 'n_head', 'n_layer': 'n_layer', 'dropout': 'dropout',
    'init': 'init',
    'lr': 'learning_rate', 'min_lr': 'min_lr', 'warmup_iters': 'warmup_iters',
    'weight_decay': 'weight_decay', 'grad_clip': 'grad_clip', 'eval_interval': 'eval_interval',
    'eval_iters': 'eval_iters', 'log_interval': 'log_interval', 'seed': 'seed', 'data': 'data',
    'out': 'out_dir', 'device': 'device', 'sample_tokens': 'sample_tokens',
}


def build_parser():
    p = OneLineErrorParser(prog='python -m gpt.train', description=__doc__.split('\n\n')[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--preset', default=DEFAULT_PRESET, choices=sorted(PRESETS),
                   help=f"starting configuration, which the flags below override (default: {DEFAULT_PRESET})")
    p.add_argument('--device', help="'cpu' or 'gpu' (needs CuPy: pip install -e '.[gpu]'); default cpu")
    p.add_argument('--model', choices=['bigram', 'gpt'], help="which model to train (default: the preset's)")
    p.add_argument('--max-iters', type=int, help="total optimizer steps")
    p.add_argument('--batch-size', type=int, help="sequences per step")
    p.add_argument('--block-size', type=int, help="context length in characters")
    p.add_argument('--n-embd', type=int, help="GPT width (residual stream channels)")
    p.add_argument('--n-head', type=int, help="attention heads per block (must divide --n-embd)")
    p.add_argument('--n-layer', type=int, help="transformer blocks")
    p.add_argument('--dropout', type=float, help="dropout probability while training")
    p.add_argument('--init', choices=INITS,
                   help="GPT weight init: PyTorch's per-layer default (the lecture video) or N(0, 0.02) "
                        "(the lecture repo, nanoGPT); default: the preset's (small: normal, lecture: default)")
    p.add_argument('--lr', type=float, help="(peak) learning rate")
    p.add_argument('--min-lr', type=float, help="final learning rate of the cosine decay")
    p.add_argument('--warmup-iters', type=int, help="steps of linear learning-rate warm-up (with decay)")
    p.add_argument('--weight-decay', type=float, help="AdamW weight decay")
    p.add_argument('--grad-clip', type=float, help="clip the global gradient norm to this (0: off)")
    p.add_argument('--eval-interval', type=int, help="estimate losses and checkpoint every N steps")
    p.add_argument('--eval-iters', type=int, help="batches per split in each loss estimate")
    p.add_argument('--log-interval', type=int, help="read the training loss every N steps")
    p.add_argument('--seed', type=int, help="random seed (weights, batches, dropout)")
    p.add_argument('--data', help="a UTF-8 text file to train on (default: the packaged tiny shakespeare)")
    p.add_argument('--out', help="run directory for ckpt.npz, log.csv, sample.txt (default: runs/<preset>)")
    p.add_argument('--sample-tokens', type=int, help="characters to generate at the end (0: none)")
    p.add_argument('--resume', action='store_true',
                   help="continue the run in --out from its checkpoint (its config, weights, optimizer, RNG)")
    p.add_argument('--tf32', action='store_true', help="allow TF32 matmuls on the GPU (faster, less exact)")
    p.add_argument('--no-progress', action='store_true', help="plain log lines instead of a progress bar")
    return p


def config_from_args(args):
    """The preset (or, with --resume, the checkpoint's config), overridden by the given flags."""
    cfg = preset(args.preset)
    given = {field: getattr(args, flag) for flag, field in OVERRIDES.items() if getattr(args, flag) is not None}
    if args.resume:
        out_dir = Path(given.get('out_dir', cfg.out_dir))
        ckpt_path = out_dir / ckpt_io.CHECKPOINT_NAME
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}; start a new run without "
                                    f"--resume, or pass the --out DIR of the run to continue")
        saved = TrainConfig.from_dict(ckpt_io.load_checkpoint(ckpt_path)['train_config'])
        changed = [f for f in ARCHITECTURE_FIELDS if f in given and given[f] != getattr(saved, f)]
        if changed:
            raise ValueError(f"--resume: can't change {', '.join(changed)} of a saved run (the checkpoint "
                             f"has {', '.join(f'{f}={getattr(saved, f)}' for f in changed)}); start a new "
                             f"run in another --out directory instead")
        cfg = replace(saved, out_dir=str(out_dir))
    if args.tf32:
        given['tf32'] = True
    if args.no_progress:
        given['progress'] = False
    return replace(cfg, **given)


def main(argv=None):
    args = build_parser().parse_args(argv)
    mt.backends.tune_cpu_allocator()      # glibc keeps freed blocks: no page faults per temporary
    try:
        cfg = config_from_args(args)
        summary = train(cfg, resume=args.resume)
    except (ValueError, RuntimeError, FileNotFoundError, OSError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted (the last checkpoint, if any, is intact)", file=sys.stderr)
        return 130
    return 130 if summary['stopped'] else 0


if __name__ == '__main__':
    sys.exit(main())
