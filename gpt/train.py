"""`python -m gpt.train`: train the bigram model or the GPT on a text file.

    python -m gpt.train                                  # the `small` preset on the CPU
    python -m gpt.train --device gpu                     # the `lecture` preset: the lecture's GPT
    python -m gpt.train --out runs/small --resume        # continue a stopped run
    python -m gpt.train --device gpu --preset speedrun   # to val 1.50 as fast as it goes, then stop

Every eval writes `<out>/ckpt.npz` (atomically) and a row of `<out>/log.csv`; Ctrl-C
stops after the current step and saves a checkpoint. A new run never overwrites a
checkpoint: continue it with --resume, or move it aside with --force. The training
step never waits for the device: the loss is summed on the device and read every
log_interval steps. Times count from the command's start (gpt/clock.py); with
--target-val the run stops at the first full evaluation at or below it (gpt/stopping.py).
"""
import argparse
import math
import signal
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import minitensor as mt
from minitensor import backend

from . import checkpoint as ckpt_io
from . import precision, stopping
from .clock import RunClock
from .config import ARCHITECTURE_FIELDS, PRESETS, TrainConfig, default_preset, flag_of, preset
from .data import CharTokenizer, FixedBatches, TextBatches, load_text
from .data_parallel import Quiet, Replicas
from .errors import UserError, is_out_of_memory
from .graph_eval import GraphedLossSum
from .graph_step import WARMUP_STEPS, GraphedStep, step_body, why_not_graphed
from .memory import check_training_fits
from .runlog import CSVLog
from .settings import OneLineErrorParser, add_flags, given_values
from .warmup import compile_step_kernels


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


def estimate_loss(model, data, eval_iters, seed, autocast=None):
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
                with autocast or nullcontext():               # --dtype bf16/fp16: as trained
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


# ---------------------------------------------------------------- the run

@dataclass
class LoopState:
    """What the training loop carries from step to step."""
    step: int
    best_val: float
    lr: float
    losses: dict = None                 # the last eval's {'train': ..., 'val': ...}
    step_ms: float = math.nan           # speed over the last logging interval
    tokens_per_s: float = math.nan
    loss_sum: object = None             # training loss summed on the device since the last read
    loss_count: int = 0
    interval_steps: int = 0
    interval_start: float = 0.0
    train_mean: float = math.nan        # the mean training loss of the last logging interval
    train_mean_steps: int = 0           # ... over this many steps
    reads: int = 0                      # logging intervals read so far
    reached: object = None              # the stopping.Check that reached --target-val
    reached_s: float = math.nan         # ... and when, in seconds from the command's start


class Trainer:
    """A run's pieces (model, optimizer, data, log, checkpoint path) and its LoopState."""

    def __init__(self, cfg, model, optimizer, tokenizer, data, start_step, best_val, csv_log, progress,
                 world_size=1, clock=None, stop_rule=None, val_loss_sum=None):
        self.cfg, self.model, self.optimizer, self.tokenizer, self.data = cfg, model, optimizer, tokenizer, data
        self.clock = clock if clock is not None else RunClock()
        # with --target-val (gpt/stopping.py): the rule, and (model, start, stop) -> the summed
        # loss of fixed val batches [start, stop) on the device
        self.stop_rule, self.val_loss_sum = stop_rule, val_loss_sum
        self.firsts = set()                         # 'first step', 'first eval': timed already
        self.raw_model = Replicas.unwrap(model)     # what evaluates and is saved (DDP's keys say module.)
        self.csv_log, self.progress = csv_log, progress
        self.ckpt_path = Path(cfg.out_dir) / ckpt_io.CHECKPOINT_NAME
        self.spec = ckpt_io.model_spec(cfg, tokenizer.vocab_size)
        self.tokens_per_step = cfg.batch_size * cfg.block_size * world_size
        self.world_size = world_size
        self.state = LoopState(step=start_step, best_val=best_val, lr=learning_rate_at(start_step, cfg),
                               interval_start=time.perf_counter())
        self.autocast, self.scaler = precision.autocast(cfg), precision.grad_scaler(cfg)   # --dtype
        self.graphed = None                 # the CUDA-graph step, when the step can be captured

    def use_cuda_graph(self, log):
        """Replay the step as a CUDA graph where it can be captured; one log line either way."""
        reason = why_not_graphed(self.cfg, self.data, self.world_size)
        if reason is None:
            self.graphed = GraphedStep(self.model, self.optimizer, self.data, self.cfg.grad_clip, log, self.autocast)
            log(f"CUDA graph: on (eager warm-up for {WARMUP_STEPS} steps, then one capture; "
                f"--no-cuda-graph trains eagerly)")
        elif self.cfg.cuda_graph:
            log(f"CUDA graph: off ({reason}); training eagerly")

    def train_step(self):
        cfg, s = self.cfg, self.state
        lr = learning_rate_at(s.step, cfg)
        for group in self.optimizer.param_groups:
            group['lr'] = lr
        if self.graphed is not None:
            loss = self.graphed()                                 # a replay (after warm-up and capture)
        else:                                                     # the same step, run eagerly
            offsets = self.data.draw_offsets('train').to(self.data.device, non_blocking=True)   # (B,)
            loss = step_body(self.model, self.optimizer, self.data, offsets, cfg.grad_clip, self.autocast,
                             self.scaler)                         # the scaler: fp16 only, else a no-op
        s.step += 1
        s.lr = lr
        s.loss_sum = loss.detach() if s.loss_sum is None else s.loss_sum + loss.detach()   # no sync
        s.loss_count += 1
        s.interval_steps += 1

    def read_interval(self):
        """Sync once: the mean training loss and speed since the last read."""
        s = self.state
        mean = (s.loss_sum / s.loss_count).item() if s.loss_count else math.nan
        elapsed = time.perf_counter() - s.interval_start
        if s.interval_steps:
            s.step_ms = 1000 * elapsed / s.interval_steps
            s.tokens_per_s = self.tokens_per_step * s.interval_steps / elapsed
        self.progress.update(s.step, s.interval_steps, mean, s.lr, s.step_ms, s.tokens_per_s)
        s.reads += 1
        if s.reads == 2 and self.stop_rule is not None:     # the first interval holds the start-up
            self.progress.write(stopping.projection(s.step_ms, s.step, self.cfg.max_iters))
        s.train_mean, s.train_mean_steps = mean, s.interval_steps
        s.loss_sum, s.loss_count, s.interval_steps = None, 0, 0
        s.interval_start = time.perf_counter()

    def evaluate(self, final=False):
        """Estimate both losses, log a row of log.csv and save a checkpoint; with --target-val,
        check the stopping rule instead (saving only at the end: see check_target)."""
        s = self.state
        if s.interval_steps:
            self.read_interval()
        started = time.perf_counter()
        if self.stop_rule is not None:
            self.check_target(final)
        else:
            s.losses = estimate_loss(self.raw_model, self.data, self.cfg.eval_iters,
                                     seed=seed_of(self.cfg.seed + 1), autocast=self.autocast)
            s.best_val = min(s.best_val, s.losses['val'])
            self.progress.write(f"step {s.step}: train loss {s.losses['train']:.4f}, val loss "
                                f"{s.losses['val']:.4f}")
            self.log_row(s.losses['train'], s.losses['val'], self.cfg.eval_iters)
            self.save()
        self.first('eval', since=started)
        s.interval_start = time.perf_counter()          # eval time is not training time

    def check_target(self, final):
        """The stopping rule's evaluation (gpt/stopping.py): a cheap estimate, the full
        measurement near the target; sets state.reached when a full one is <= --target-val.
        No checkpoint here: a run to a target saves once, when it stops."""
        s, rule = self.state, self.stop_rule
        started = time.perf_counter()
        with self.autocast:                  # --dtype bf16/fp16: measured as trained (as estimate_loss)
            check = rule.check(s.step, lambda a, b: self.val_loss_sum(self.raw_model, a, b).item(),
                               force_full=final)
        rule.seconds += time.perf_counter() - started
        seconds = self.clock.now()
        s.losses = {'train': s.train_mean, 'val': check.val}
        if check.full:
            s.best_val = min(s.best_val, check.val)
        self.progress.write(stopping.check_line(check, s.train_mean, s.train_mean_steps))
        self.log_row(s.train_mean, check.val, check.batches, seconds)
        if check.reached:
            s.reached, s.reached_s = check, seconds
            self.progress.write(stopping.reached_line(check, rule.target, seconds, self.clock.origin()))
        if check.reached or final:
            self.progress.write(stopping.evaluation_line(rule))

    def log_row(self, train_loss, val_loss, val_iters, seconds=None):
        s = self.state
        self.csv_log.append(step=s.step, train_loss=f"{train_loss:.6f}", val_loss=f"{val_loss:.6f}",
                            lr=f"{s.lr:.6g}", step_ms=f"{s.step_ms:.3f}", tokens_per_s=f"{s.tokens_per_s:.1f}",
                            time_s=f"{self.clock.now() if seconds is None else seconds:.3f}", val_iters=val_iters)

    def time_step(self, since):
        """After a step: time the first one (its kernels compile) and the one that captured the
        CUDA graph, once each."""
        if 'first step' not in self.firsts:
            self.first('step', since)
        elif self.graphed is not None and self.graphed.graph is not None and 'graph capture' not in self.firsts:
            self.first('graph capture', since)

    def first(self, what, since):
        """Time the run's first step, graph capture or first eval (once each), and print the
        start-up breakdown when they are known."""
        name = what if what == 'graph capture' else f"first {what}"
        if name in self.firsts:
            return
        self.firsts.add(name)
        if what != 'eval':
            backend.synchronize(self.data.device)       # its kernels (and their compilation) done
        self.clock.mark(name, since=since)
        capture_known = self.graphed is None or self.graphed.failed is not None or 'graph capture' in self.firsts
        if self.clock.has('first step', 'first eval') and capture_known and not self.clock.reported:
            self.clock.reported = True
            self.progress.write(self.clock.breakdown())

    def save(self):
        ckpt_io.save_checkpoint(self.ckpt_path, model=self.raw_model, optimizer=self.optimizer, step=self.state.step,
                                spec=self.spec, train_config=self.cfg, tokenizer=self.tokenizer,
                                best_val_loss=self.state.best_val)
        ckpt_io.save_torch_weights(self.ckpt_path.parent / 'model.safetensors', self.raw_model)


def seed_of(seed):
    """torch.manual_seed's rule: any seed in [-2**63, 2**64) works; negative ones wrap modulo 2**64."""
    return seed % 2 ** 64


RUN_FILES = (ckpt_io.CHECKPOINT_NAME, 'log.csv', 'sample.txt', 'loss.png', 'model.safetensors')


def prepare_out_dir(out_dir, resume, force, log):
    """Make the run directory; a new run moves an old checkpoint aside only with force."""
    ckpt_path = out_dir / ckpt_io.CHECKPOINT_NAME
    if not resume and ckpt_path.exists():
        if not force:
            raise UserError(f"{out_dir} holds the checkpoint of an earlier run: continue it with --resume, "
                            f"move it aside with --force (to {out_dir}.old-<time>, nothing is deleted), or "
                            f"pick another --out")
        # only the run's own files move: --out may hold other things (even the --data file)
        resolved = out_dir.resolve()
        aside = resolved.with_name(f"{resolved.name}.old-{datetime.now():%Y%m%d-%H%M%S}")
        n = 1
        while aside.exists():
            n += 1
            aside = resolved.with_name(f"{resolved.name}.old-{datetime.now():%Y%m%d-%H%M%S}-{n}")
        aside.mkdir(parents=True)
        for name in RUN_FILES:
            if (out_dir / name).exists():
                (out_dir / name).rename(aside / name)
        log(f"--force: moved the earlier run's files from {out_dir} to {aside}")
    out_dir.mkdir(parents=True, exist_ok=True)


def set_up(cfg, checkpoint, clock=None):
    """(model, optimizer, tokenizer, data, start_step, best_val) of a new run, or of the run in
    `checkpoint` (already loaded) when resuming; `clock` (a RunClock) times the phases."""
    mark = clock.mark if clock is not None else (lambda name: None)
    try:
        device = mt.zeros(1, device=cfg.device).device      # fails early, and clearly, without CuPy
    except (ValueError, RuntimeError) as e:
        raise UserError(f"{e} (--device)") from None
    mark('device')                                          # on the GPU: CuPy's import, the CUDA context
    precision.configure(cfg)                                # --dtype tf32 / --tf32
    mt.manual_seed(seed_of(cfg.seed))
    text = load_text(cfg.data)
    if checkpoint is not None:
        tokenizer = CharTokenizer.from_string(checkpoint['vocab'])
        start_step, best_val = checkpoint['step'], checkpoint['best_val_loss']
        if start_step >= cfg.max_iters:
            raise UserError(f"--resume: the checkpoint in {cfg.out_dir} is already at step {start_step} of "
                            f"max_iters {cfg.max_iters}; pass a larger --max-iters to train further")
    else:
        tokenizer = CharTokenizer.from_text(text)
        start_step, best_val = 0, math.inf
    # the data first: a corpus too short for block_size fails before a big model is built
    data = TextBatches(text, tokenizer, cfg.block_size, cfg.batch_size, device)
    mark('data')
    spec = ckpt_io.model_spec(cfg, tokenizer.vocab_size)
    check_training_fits(spec, cfg.batch_size, device)
    model = ckpt_io.build_model(spec).to(device)
    optimizer = make_optimizer(model, cfg)
    if checkpoint is not None:
        try:        # the checkpoint was checked for types and sizes; these check the rest
            model.load_state_dict(checkpoint['model_state'])
            optimizer.load_state_dict(checkpoint['optimizer_state'])
            mt.default_generator.set_state(checkpoint['rng_state'])
        except (ValueError, RuntimeError, KeyError, TypeError, IndexError) as e:
            raise UserError(f"--resume: the checkpoint in {cfg.out_dir} can't be restored: "
                            f"{type(e).__name__}: {e}") from None
    mark('model')
    return model, optimizer, tokenizer, data, start_step, best_val


def train(cfg, resume=False, force=False, log=print, checkpoint=None):
    """Train as `cfg` says, or with resume=True continue the run in cfg.out_dir (from its
    checkpoint, read here unless `checkpoint` gives it already); returns a summary dict."""
    clock = RunClock()                      # seconds from the command's start
    cfg.validate()
    replicas = Replicas(cfg.device)         # several ranks when started by the launcher or mpiexec
    main_rank = replicas.is_main            # rank 0 alone logs, evaluates, checkpoints and samples
    stopping.check_supported(cfg, replicas.world_size)
    log = log if main_rank else Quiet()
    out_dir = Path(cfg.out_dir)
    if resume and checkpoint is None:
        checkpoint = read_checkpoint_to_resume(out_dir)
    if main_rank:
        prepare_out_dir(out_dir, resume, force, log)
    model, optimizer, tokenizer, data, start_step, best_val = set_up(cfg, checkpoint if resume else None, clock)
    stop_rule = val_loss_sum = None
    if cfg.target_val is not None:
        fixed_val = FixedBatches(data, 'val', cfg.eval_iters, seed=seed_of(cfg.seed + 2),
                                 batch_size=cfg.eval_batch_size)
        graphable = why_not_graphed(cfg, data, replicas.world_size) is None
        val_loss_sum = GraphedLossSum(fixed_val, log) if graphable else fixed_val.loss_sum
        stop_rule = stopping.TargetStop(cfg.target_val, cfg.target_margin, min(cfg.check_iters, cfg.eval_iters),
                                        cfg.eval_iters, cfg.calibrated_margin)
        clock.mark('eval batches')
    csv_log = CSVLog(out_dir / 'log.csv', resume_step=start_step if resume else None, log=log) if main_rank else Quiet()
    log(f"{'resuming' if resume else 'training'} {type(model).__name__} ({model.num_parameters():,} parameters) "
        f"on {data.device} from step {start_step} to {cfg.max_iters}; batch {cfg.batch_size} x "
        f"{cfg.block_size}{replicas.describe()}, vocab {tokenizer.vocab_size}; writing to {out_dir}/")
    if cfg.target_val is not None:
        note = stopping.expectation(data.device, device_name(data.device), cfg.target_val)
        if note:
            log(note)
    run = Trainer(cfg, replicas.wrap(model), optimizer, tokenizer, data, start_step, best_val, csv_log,
                  Progress(start_step, cfg.max_iters, cfg.progress) if main_rank else Quiet(),
                  replicas.world_size, clock, stop_rule, val_loss_sum)
    if cfg.warm_kernels and mt.cuda.graphs.compiles_kernels(data.positions):
        compile_step_kernels(cfg, tokenizer.vocab_size, data.device, log)
        clock.mark('kernels')
    run.use_cuda_graph(log)
    s = run.state
    wall_start = time.perf_counter()
    model.train()
    stopped = False
    try:
        with replicas.stop_request(StopRequest) as stop:
            while s.step < cfg.max_iters:
                if s.step % cfg.eval_interval == 0 or s.step == start_step:
                    replicas.reseed(cfg.seed, s.step)
                # a resumed run was evaluated (and saved) at start_step already; a run to a
                # target does not evaluate the untrained model
                if (s.step % cfg.eval_interval == 0 and not (resume and s.step == start_step) and main_rank
                        and not (stop_rule is not None and s.step == 0)):
                    run.evaluate()
                    if s.reached is not None:
                        break
                if stop.requested:
                    stopped = True
                    break
                started = time.perf_counter()
                run.train_step()
                run.time_step(since=started)
                if s.step % cfg.log_interval == 0:
                    run.read_interval()
            if stopped or s.reached is not None:
                run.save()
            elif main_rank:
                run.evaluate(final=True)                         # the final losses and checkpoint
                if stop_rule is not None:
                    run.save()
    finally:
        run.progress.close()
    replicas.close()
    wall_s = time.perf_counter() - wall_start
    summary = {'step': s.step, 'stopped': stopped, 'wall_s': wall_s, 'checkpoint': str(run.ckpt_path)}
    if stop_rule is not None:
        summary.update(reached=s.reached is not None, target_val=cfg.target_val, checks=stop_rule.checks,
                       full_measurements=stop_rule.full_measurements, eval_s=stop_rule.seconds)
        if s.reached is not None:
            summary.update(reached_step=s.reached.step, reached_val=s.reached.val, reached_s=s.reached_s)
    if not main_rank:
        return summary
    if stopped:
        log(f"stopped at step {s.step}; checkpoint saved to {run.ckpt_path}; continue with "
            f"`python -m gpt.train --out {out_dir} --resume`")
        return summary
    if stop_rule is not None and s.reached is None:
        log(f"did not reach val <= {stopping.format_target(cfg.target_val)} in {s.step} steps (--max-iters): "
            f"final val {s.losses['val']:.4f} over {cfg.eval_iters} batches after {clock.now():.1f} s "
            f"({clock.origin()})")
    log(f"done: {s.step} steps in {wall_s:.1f} s; train loss {s.losses['train']:.4f}, val loss "
        f"{s.losses['val']:.4f} (best {s.best_val:.4f}); checkpoint {run.ckpt_path}")
    summary.update(train_loss=s.losses['train'], val_loss=s.losses['val'], best_val_loss=s.best_val)
    if cfg.sample_tokens:
        context = mt.zeros((1, 1), dtype=mt.int64, device=data.device)           # (1, 1): a newline
        text = tokenizer.decode(model.generate(context, cfg.sample_tokens)[0])
        (out_dir / 'sample.txt').write_text(text, encoding='utf-8')
        log(f"--- a sample of {cfg.sample_tokens} characters ---\n{text}")
        summary['sample'] = text
    return summary


def device_name(device):
    """The GPU's name (None on the CPU or where it can't be read)."""
    if device != 'gpu':
        return None
    try:
        return mt.cuda.get_device_name()
    except (RuntimeError, ValueError):
        return None


def read_checkpoint_to_resume(out_dir):
    ckpt_path = out_dir / ckpt_io.CHECKPOINT_NAME
    if not ckpt_path.is_file():
        raise UserError(f"--resume: no checkpoint at {ckpt_path}; start a new run without --resume, or "
                        f"pass the --out DIR of the run to continue")
    return ckpt_io.load_checkpoint(ckpt_path)


# ---------------------------------------------------------------- command line

def build_parser():
    p = OneLineErrorParser(
        prog='python -m gpt.train', formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split('\n\n')[0] + "\n\nA preset gives every setting; the flags given override it.",
        epilog=f"presets: {', '.join(PRESETS)} (see gpt/config.py). Without --preset: 'lecture' with "
               f"--device gpu, 'small' on the CPU.")
    p.add_argument('--preset', choices=sorted(PRESETS),
                   help="starting configuration, which the flags below override (default: 'lecture' with "
                        "--device gpu, else 'small')")
    p.add_argument('--resume', action='store_true',
                   help="continue the run in --out from its checkpoint (its config, weights, optimizer, RNG)")
    p.add_argument('--force', action='store_true',
                   help="start a new run even if --out holds a checkpoint: the old run's files (ckpt.npz, "
                        "log.csv, sample.txt, ...) move to DIR.old-<time>, never deleted")
    add_flags(p, TrainConfig)
    return p


def config_from_args(args):
    """(cfg, checkpoint): the preset (or, with --resume, the checkpoint's config) overridden by
    the given flags, and the checkpoint read for --resume (None for a new run)."""
    given = given_values(args, TrainConfig)
    cfg = preset(args.preset or default_preset(given.get('device', 'cpu')))
    if not args.resume:
        return replace(cfg, **given), None
    if args.force:
        raise UserError("--resume continues the run in --out and --force starts a new one there: pass one")
    out_dir = Path(given.get('out_dir', cfg.out_dir))
    checkpoint = read_checkpoint_to_resume(out_dir)
    saved = TrainConfig.from_dict(checkpoint['train_config'])
    changed = [f for f in ARCHITECTURE_FIELDS if f in given and given[f] != getattr(saved, f)]
    if changed:
        raise UserError(f"--resume: can't change {', '.join(changed)} of a saved run (the checkpoint has "
                        f"{', '.join(f'{f}={getattr(saved, f)}' for f in changed)}); start a new run in "
                        f"another --out directory instead ({', '.join(flag_of(f) for f in changed)})")
    return replace(saved, **{**given, 'out_dir': str(out_dir)}), checkpoint


def failed(exit_code):
    """In a data-parallel run the other ranks may be waiting for this one: end them all."""
    if mt.distributed.is_initialized():
        mt.distributed.abort(exit_code)
    return exit_code


def main(argv=None):
    args = build_parser().parse_args(argv)
    mt.backends.tune_cpu_allocator()      # glibc keeps freed blocks: no page faults per temporary
    try:
        cfg, checkpoint = config_from_args(args)
        summary = train(cfg, resume=args.resume, force=args.force, checkpoint=checkpoint)
    except (UserError, OSError) as e:              # our checks, and the file system's (disk full, ...)
        print(f"error: {e}", file=sys.stderr)
        return failed(1)
    except KeyboardInterrupt:
        print("interrupted (the last checkpoint, if any, is intact)", file=sys.stderr)
        return failed(130)
    except Exception as e:
        if not is_out_of_memory(e):
            raise                                   # a bug: keep the traceback
        print(f"error: out of memory ({type(e).__name__}): the model (--n-embd, --n-layer) or the batch "
              f"(--batch-size, --block-size) is too big for {args.device or 'this device'}; the last "
              f"checkpoint, if any, is intact", file=sys.stderr)
        return failed(1)
    return 130 if summary['stopped'] else 0


if __name__ == '__main__':
    sys.exit(main())
