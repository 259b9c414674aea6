"""Stopping at a target val loss (`--target-val`, the speedrun preset's rule).

The run stops at the first evaluation whose val loss, measured in full, is <= the
target: the mean over `--eval-iters` fixed validation batches (at least 100 of 64 x 256
for the speedrun, as the other presets measure it). A full measurement costs as much as
dozens of training steps, so every `--eval-interval` steps a cheap estimate comes first,
over the first `--check-iters` of the same batches, and the full measurement runs only
when the cheap one, corrected by the offset (full - cheap) the last full measurement
showed, is within a margin of the target: `--target-margin` until a full measurement
has measured that offset (a 10-batch estimate can be a few hundredths off), then
`--calibrated-margin`, which can be tighter (the offset of fixed batches drifts slowly), so
that few full measurements are taken above the target. The full measurement reuses the cheap
batches' sum, so it costs the remaining batches only. A cheap estimate alone never stops
a run. The batches are gpt.data.FixedBatches. This module imports neither minitensor nor
torch: benchmarks/speedrun_torch.py stops its PyTorch run by the same rule.
"""
import math
from dataclasses import dataclass

from .errors import UserError

# where the speedrun preset first reached val 1.50 (the latest of its three seeds on an H200,
# 2026-11-23: steps 1150/1250/1200; gpt/config.py): the step count behind the projections
RECIPE_STEPS = 1250
TARGET_GPUS = ('H100', 'H200')      # what the speedrun preset is tuned on (and the faster kind)


@dataclass
class Check:
    """One evaluation of the stopping rule."""
    step: int
    val: float          # the full measurement where one was taken, else the (uncorrected) cheap estimate
    batches: int        # how many fixed batches `val` is the mean of
    full: bool
    reached: bool


class TargetStop:
    """The rule: cheap estimate, full measurement only near the target, stop on a full one."""

    def __init__(self, target, margin, cheap, full, calibrated_margin=None):
        if not 1 <= cheap <= full:
            raise ValueError(f"TargetStop: need 1 <= cheap <= full batches, got cheap={cheap}, full={full}")
        self.target, self.margin = target, margin
        self.calibrated_margin = margin if calibrated_margin is None else calibrated_margin
        self.cheap, self.full = cheap, full
        self.offset = 0.0               # full - cheap at the last full measurement
        self.best = math.inf            # the best full measurement
        self.full_measurements = 0
        self.checks = 0
        self.seconds = 0.0              # spent evaluating: the caller adds what each check took

    def check(self, step, loss_sum, force_full=False):
        """Evaluate at `step`. `loss_sum(start, stop)` is the summed loss (a float) of fixed
        batches [start, stop); force_full measures in full whatever the cheap estimate says
        (the run's last evaluation)."""
        self.checks += 1
        cheap_sum = loss_sum(0, self.cheap)
        cheap = cheap_sum / self.cheap
        if self.cheap == self.full:
            return self._measured(step, cheap, cheap)
        margin = self.calibrated_margin if self.full_measurements else self.margin
        if not force_full and cheap + self.offset > self.target + margin:
            return Check(step, cheap, self.cheap, full=False, reached=False)
        full = (cheap_sum + loss_sum(self.cheap, self.full)) / self.full
        return self._measured(step, cheap, full)

    def _measured(self, step, cheap, full):
        self.offset = full - cheap
        self.best = min(self.best, full)
        self.full_measurements += 1
        return Check(step, full, self.full, full=True, reached=full <= self.target)


def evaluation_line(rule):
    """What the stopping rule cost: parsed by benchmarks/speedrun_sweep.py."""
    return (f"evaluation: {rule.checks} checks, {rule.full_measurements} full measurements, "
            f"{rule.seconds:.2f} s in all")


def format_target(target):
    """1.5 -> '1.50' (two decimals, as losses are quoted), 1.475 -> '1.475'."""
    text = f"{target:.2f}"
    return text if float(text) == target else f"{target:g}"


def reached_line(check, target, seconds, origin):
    return (f"reached val {check.val:.4f} <= {format_target(target)} at step {check.step} after "
            f"{seconds:.1f} s ({origin})")


def check_line(check, train_loss, train_steps):
    kind = 'full' if check.full else 'cheap'
    return (f"step {check.step}: val loss {check.val:.4f} ({kind}, {check.batches} batches), "
            f"train loss {train_loss:.4f} (training mean of the last {train_steps} steps)")


def expectation(device, device_name, target):
    """A line saying what to expect from the speedrun preset on this device (None on its GPUs)."""
    goal = f"val {format_target(target)}"
    if device == 'cpu':
        return (f"note: the speedrun preset targets an H100 (under 30 s there); on the CPU a step of the "
                f"lecture-sized model (about 1.2 TFLOP) takes tens of seconds, so reaching {goal} takes "
                f"hours (~{RECIPE_STEPS} steps; a projection follows after the first steps). For a model in "
                f"minutes on a CPU: --preset small")
    if device_name is not None and not any(g in device_name for g in TARGET_GPUS):
        return (f"note: the speedrun preset is tuned on an H100; on {device_name} expect it to take longer "
                f"(~{RECIPE_STEPS} steps to {goal}; a projection follows after the first steps)")
    return None


def projection(step_ms, step, max_iters):
    """After start-up: how long the recipe's steps take at the measured speed."""
    def span(seconds):
        return f"{seconds / 3600:.1f} h" if seconds >= 5400 else (
            f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s")
    left = max(RECIPE_STEPS - step, 0) * step_ms / 1000
    return (f"speed after start-up: {step_ms:.1f} ms/step; step ~{RECIPE_STEPS} (where this recipe reached "
            f"val 1.50 on an H200) in ~{span(left)} more, max_iters {max_iters} in at most "
            f"~{span(max(max_iters - step, 0) * step_ms / 1000)}")


def check_supported(cfg, world_size):
    if cfg.target_val is not None and world_size > 1:
        raise UserError("--target-val stops a run on rank 0's evaluation; data-parallel runs can't stop "
                        "early yet: leave --target-val out (or train on one device)")
