"""The speedrun preset and --target-val: the stopping rule (on fake losses), fixed val
batches, seconds from the command's start, and the preset run for a few steps on the CPU."""
import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minitensor as mt
from gpt import train as gtrain
from gpt.clock import RunClock, process_age
from gpt.config import TrainConfig, preset
from gpt.data import CharTokenizer, FixedBatches, TextBatches, load_text
from gpt.errors import UserError
from gpt.stopping import TargetStop, format_target

REPO = Path(__file__).resolve().parents[1]
REACHED = re.compile(r"^reached val (\d+\.\d{4}) <= ([\d.]+) at step (\d+) after (\d+\.\d) s \(from process start\)$",
                     re.M)


# ---------------------------------------------------------------- the rule, on fake losses

class FakeRun:
    """Per-batch val losses level(step) + bias[i] over `full` fixed batches; records what the
    rule asked for, so a test sees which evaluations were cheap and which full."""

    def __init__(self, levels, bias):
        self.levels, self.bias, self.calls = levels, np.asarray(bias, dtype=np.float64), []

    def loss_sum_at(self, step):
        def loss_sum(start, stop):
            self.calls.append((step, start, stop))
            return float(np.sum(self.levels[step] + self.bias[start:stop]))
        return loss_sum


def run_rule(rule, fake, eval_interval, max_iters):
    """The loop of gpt.train around the rule: evaluate every eval_interval steps (not at 0),
    stop on a reached check, measure in full at max_iters. (step stopped at, checks)."""
    checks = []
    for step in range(eval_interval, max_iters + 1, eval_interval):
        check = rule.check(step, fake.loss_sum_at(step), force_full=step == max_iters)
        checks.append(check)
        if check.reached:
            return step, checks
    return max_iters, checks


def falling(max_iters=4000):
    """A val loss falling 0.02 per 100 steps: 1.523 at step 2400, 1.503 at 2500, 1.483 at 2600."""
    return {step: 2.003 - 0.02 * step / 100 for step in range(0, max_iters + 1, 100)}


def test_stops_at_the_first_full_measurement_at_or_below_the_target():
    fake = FakeRun(falling(), np.zeros(100))               # cheap batches = the full mean
    rule = TargetStop(1.5, margin=0.03, cheap=10, full=100)
    step, checks = run_rule(rule, fake, eval_interval=100, max_iters=4000)
    assert step == 2600 and checks[-1].reached and checks[-1].full and checks[-1].batches == 100
    assert checks[-1].val == pytest.approx(1.483)
    # full measurements only within the margin: 1.523 (step 2400) on; 1.543 (2300) is not
    assert [c.step for c in checks if c.full] == [2400, 2500, 2600]
    assert all(c.batches == 10 and not c.reached for c in checks if not c.full)
    # the full measurement reuses the cheap batches: it reads batches 10..100 only
    assert [(s, a, b) for s, a, b in fake.calls if s == 2600] == [(2600, 0, 10), (2600, 10, 100)]


def test_an_optimistic_cheap_estimate_alone_never_stops_the_run():
    bias = np.r_[np.full(10, -0.05), np.full(90, 0.5 / 90)]    # cheap batches 0.05 below the full mean
    fake = FakeRun(falling(), bias)
    rule = TargetStop(1.5, margin=0.01, cheap=10, full=100)
    step, checks = run_rule(rule, fake, eval_interval=100, max_iters=4000)
    by_step = {c.step: c for c in checks}
    assert not by_step[2200].full                             # cheap 1.513: not near enough
    assert by_step[2300].full and not by_step[2300].reached and by_step[2300].val == pytest.approx(1.543)
    # cheap 1.473 <= 1.50, but corrected by the offset measured at 2300 it is 1.523: no measurement
    assert not by_step[2400].full and not by_step[2400].reached and by_step[2400].val == pytest.approx(1.473)
    assert by_step[2500].full and not by_step[2500].reached
    assert step == 2600 and checks[-1].reached and checks[-1].val == pytest.approx(1.483)


def test_the_offset_of_the_last_full_measurement_corrects_the_cheap_estimate():
    bias = np.r_[np.full(10, 0.05), np.full(90, -0.5 / 90)]   # cheap batches pessimistic by 0.05
    levels = {100: 1.70, 200: 1.503, 300: 1.499}
    fake = FakeRun(levels, bias)
    rule = TargetStop(1.5, margin=0.0, cheap=10, full=100)
    first = rule.check(100, fake.loss_sum_at(100), force_full=True)   # learns the offset
    assert first.full and rule.offset == pytest.approx(-0.05)
    second = rule.check(200, fake.loss_sum_at(200))     # corrected 1.503: above, no full measurement
    assert not second.full and second.val == pytest.approx(1.503 + 0.05)
    third = rule.check(300, fake.loss_sum_at(300))      # cheap 1.549 alone would skip; corrected 1.499
    assert third.full and third.reached and third.val == pytest.approx(1.499)


def test_once_calibrated_a_tighter_margin_saves_full_measurements():
    bias = np.r_[np.full(10, -0.04), np.full(90, 0.4 / 90)]    # cheap batches 0.04 below the full mean
    wide = TargetStop(1.5, margin=0.06, cheap=10, full=100)
    tight = TargetStop(1.5, margin=0.06, cheap=10, full=100, calibrated_margin=0.01)
    steps = {}
    for name, rule in (('wide', wide), ('tight', tight)):
        step, checks = run_rule(rule, FakeRun(falling(), bias), eval_interval=100, max_iters=4000)
        steps[name] = (step, [c.step for c in checks if c.full])
    # uncalibrated, cheap 1.583 - 0.04 at step 2100 is within 0.06: the first full measurement,
    # which measures the offset; after it the wide margin measures from 2300 (1.543 <= 1.56),
    # the tight one only from 2500 (1.503 <= 1.51)
    assert steps['wide'] == (2600, [2100, 2300, 2400, 2500, 2600])
    assert steps['tight'] == (2600, [2100, 2500, 2600])


def test_max_iters_ends_the_run_with_a_full_measurement():
    fake = FakeRun({s: 3.0 for s in range(0, 1001, 100)}, np.zeros(100))
    rule = TargetStop(1.5, margin=0.03, cheap=10, full=100)
    step, checks = run_rule(rule, fake, eval_interval=100, max_iters=1000)
    assert step == 1000 and not any(c.reached for c in checks)
    assert [c.full for c in checks] == [False] * 9 + [True] and rule.full_measurements == 1
    assert rule.best == pytest.approx(3.0)


def test_a_cheap_set_as_large_as_the_full_one_measures_in_full_every_time():
    fake = FakeRun({100: 1.6, 200: 1.4}, np.zeros(20))
    rule = TargetStop(1.5, margin=0.0, cheap=20, full=20)
    assert [rule.check(s, fake.loss_sum_at(s)).full for s in (100, 200)] == [True, True]
    assert [c for c in fake.calls] == [(100, 0, 20), (200, 0, 20)]
    with pytest.raises(ValueError, match="need 1 <= cheap <= full"):
        TargetStop(1.5, 0.0, cheap=30, full=20)


def test_format_target():
    assert format_target(1.5) == '1.50' and format_target(1.475) == '1.475' and format_target(2) == '2.00'


# ---------------------------------------------------------------- fixed batches

@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp('data') / 'corpus.txt'
    path.write_text(load_text()[:20000], encoding='utf-8')
    return str(path)


def test_fixed_batches_are_drawn_once_from_their_own_generator():
    text = load_text()[:5000]
    data = TextBatches(text, CharTokenizer.from_text(text), block_size=16, batch_size=4)
    mt.manual_seed(0)
    before = mt.default_generator.get_state()
    fixed = FixedBatches(data, 'val', n=6, seed=11)
    assert mt.default_generator.get_state() == before            # the training's stream never moves
    again = FixedBatches(data, 'val', n=6, seed=11)
    np.testing.assert_array_equal(fixed.x.numpy(), again.x.numpy())
    assert fixed.x.shape == (6, 4, 16) and fixed.y.shape == (6, 4, 16)
    assert FixedBatches(data, 'val', n=2, seed=11, batch_size=7).x.shape == (2, 7, 16)   # its own batch size
    val = data.splits['val'].numpy()
    offsets = mt.randint(0, len(val) - 16, (6, 4), generator=mt.Generator().manual_seed(11)).numpy()
    for i, j in np.ndindex(6, 4):
        np.testing.assert_array_equal(fixed.x.numpy()[i, j], val[offsets[i, j]:offsets[i, j] + 16])
        np.testing.assert_array_equal(fixed.y.numpy()[i, j], val[offsets[i, j] + 1:offsets[i, j] + 17])


def test_fixed_batch_offsets_are_torchs_so_the_twin_scores_the_same_text():
    torch = pytest.importorskip('torch')
    theirs = torch.randint(0, 111_000, (100, 64), generator=torch.Generator().manual_seed(1339))
    ours = mt.randint(0, 111_000, (100, 64), generator=mt.Generator().manual_seed(1339))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_loss_sum_is_eval_mode_and_restores_training_mode():
    from gpt.models import GPT, GPTConfig
    text = load_text()[:5000]
    tok = CharTokenizer.from_text(text)
    data = TextBatches(text, tok, block_size=8, batch_size=2)
    mt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_embd=16, n_head=2, n_layer=1, dropout=0.5))
    fixed = FixedBatches(data, 'val', n=3, seed=1)
    total = fixed.loss_sum(model, 0, 3)
    assert model.training                                           # back in training mode
    model.eval()
    expected = sum(model(fixed.x[i], fixed.y[i])[1].item() for i in range(3))
    assert total.item() == pytest.approx(expected, rel=1e-6)       # dropout off: deterministic
    assert fixed.loss_sum(model, 0, 3).item() == pytest.approx(total.item(), rel=1e-6)


# ---------------------------------------------------------------- the rule in gpt.train

def tiny_target(corpus, out_dir, **overrides):
    base = dict(preset('speedrun').__dict__)
    base.update(data=corpus, out_dir=str(out_dir), batch_size=4, block_size=16, n_embd=16, n_head=2, n_layer=1,
                max_iters=40, warmup_iters=4, eval_interval=5, eval_iters=6, eval_batch_size=None, check_iters=6,
                log_interval=5,
                learning_rate=1e-2, sample_tokens=0, progress=False, seed=5, tf32=False)
    base.update(overrides)
    return TrainConfig(**base)


def read_rows(out_dir):
    with open(Path(out_dir) / 'log.csv', newline='') as f:
        return list(csv.DictReader(f))


def test_a_run_to_a_target_stops_at_the_first_full_measurement_below_it(corpus, tmp_path):
    lines = []
    base = gtrain.train(tiny_target(corpus, tmp_path / 'all', target_val=0.5), log=lines.append)
    assert base['step'] == 40 and not base['reached']                     # max_iters respected
    assert 'did not reach val <= 0.50 in 40 steps' in '\n'.join(lines)
    rows = read_rows(tmp_path / 'all')
    assert [int(r['step']) for r in rows] == list(range(5, 41, 5))         # no eval of the untrained model
    assert all(r['val_iters'] == '6' for r in rows)                        # check_iters = eval_iters: all full
    times = [float(r['time_s']) for r in rows]
    assert times == sorted(times) and times[0] > 0
    vals = [float(r['val_loss']) for r in rows]
    target = (vals[3] + vals[4]) / 2 if vals[4] < vals[3] else vals[4] + 1e-4
    expected = next(int(r['step']) for r, v in zip(rows, vals) if v <= target)
    # the same run (same seed: evaluating moves no random stream) with a target stops there
    summary = gtrain.train(tiny_target(corpus, tmp_path / 'stop', target_val=target), log=lines.append)
    assert summary['reached'] and summary['reached_step'] == expected == summary['step']
    assert summary['reached_val'] == pytest.approx(float(rows[expected // 5 - 1]['val_loss']), abs=1e-6)
    assert [int(r['step']) for r in read_rows(tmp_path / 'stop')][-1] == expected
    from gpt import checkpoint as ckpt_io
    assert ckpt_io.load_checkpoint(tmp_path / 'stop' / 'ckpt.npz')['step'] == expected
    # with a cheap check of 2 batches and a margin wide enough for its error: the same stop,
    # with a cheap check instead of a full measurement where the loss is far above the target
    cheap = gtrain.train(tiny_target(corpus, tmp_path / 'cheap', target_val=target, check_iters=2,
                                     target_margin=0.1, calibrated_margin=0.1), log=lines.append)
    assert cheap['reached_step'] == expected and cheap['reached_val'] == pytest.approx(summary['reached_val'])
    kinds = [r['val_iters'] for r in read_rows(tmp_path / 'cheap')]
    assert kinds[-1] == '6' and '2' in kinds


def test_target_settings_are_checked_and_data_parallel_is_refused(corpus, tmp_path):
    with pytest.raises(ValueError, match=r"target_val must be a positive finite number.*\(--target-val\)"):
        tiny_target(corpus, tmp_path, target_val=float('nan')).validate()
    with pytest.raises(ValueError, match=r"\(--check-iters\)"):
        tiny_target(corpus, tmp_path, check_iters=0).validate()
    with pytest.raises(ValueError, match=r"\(--target-margin\)"):
        tiny_target(corpus, tmp_path, target_margin=-1.0).validate()
    with pytest.raises(UserError, match="data-parallel runs can't stop early"):
        from gpt.stopping import check_supported
        check_supported(tiny_target(corpus, tmp_path), world_size=2)


def test_the_speedrun_preset_is_nanogpts_shakespeare_char_recipe_on_the_lectures_gpt():
    cfg, lecture = preset('speedrun'), preset('lecture')
    assert (cfg.n_embd, cfg.n_head, cfg.n_layer, cfg.block_size, cfg.dropout) == \
        (lecture.n_embd, lecture.n_head, lecture.n_layer, lecture.block_size, lecture.dropout)
    assert (cfg.batch_size, cfg.learning_rate, cfg.decay_lr, cfg.warmup_iters, cfg.min_lr, cfg.beta1, cfg.beta2,
            cfg.grad_clip, cfg.tf32, cfg.out_dir) == (64, 1e-3, True, 100, 1e-4, 0.9, 0.99, 1.0, True,
                                                      'runs/speedrun')
    assert cfg.target_val == 1.5 and cfg.eval_iters >= 100 and cfg.check_iters < cfg.eval_iters
    assert cfg.eval_batch_size == 64           # 100 x 64 x 256 whatever --batch-size a sweep tries
    cfg.validate()


# ---------------------------------------------------------------- seconds from the command's start

def test_process_age_counts_from_the_process_start():
    if process_age() is None:
        pytest.skip('no /proc on this system')
    clock = RunClock()
    assert clock.from_process_start and clock.origin() == 'from process start'
    before = time.perf_counter()
    now = clock.now()
    after = time.perf_counter()
    assert before - clock.zero <= now <= after - clock.zero      # seconds since clock.zero
    # a fresh interpreter is younger than the time its parent waited for it
    code = "from gpt.clock import process_age; print(process_age())"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, check=True)
    waited = time.perf_counter() - start
    age = float(out.stdout)
    assert 0 < age <= waited + 0.011            # /proc's start time has a 10 ms tick


def test_the_speedrun_preset_runs_on_the_cpu_and_says_when_it_reaches_the_target(corpus, tmp_path):
    """CI: `--preset speedrun` for a few steps with tiny overrides, as a user runs it."""
    tiny = ['--data', corpus, '--n-embd', '16', '--n-head', '2', '--n-layer', '1', '--block-size', '16',
            '--batch-size', '4', '--eval-batch-size', '3', '--eval-iters', '4', '--check-iters', '2', '--eval-interval', '2',
            '--log-interval', '1', '--sample-tokens', '0', '--no-progress']
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def run(*args):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, '-m', 'gpt.train', '--preset', 'speedrun', *tiny, *args],
                              capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout, time.perf_counter() - start

    out, _ = run('--out', str(tmp_path / 'a'), '--max-iters', '3')
    assert 'note: the speedrun preset targets an H100' in out and '--preset small' in out
    assert re.search(r"^start-up: python \d+\.\d\d s, imports \d+\.\d\d s, device .*first step \d+\.\d\d s, "
                     r"first eval \d+\.\d\d s; \d+\.\d s from process start$", out, re.M), out
    assert 'did not reach val <= 1.50 in 3 steps (--max-iters): final val' in out and 'done: 3 steps' in out
    assert re.search(r"^evaluation: 2 checks, 1 full measurements, \d+\.\d\d s in all$", out, re.M), out
    rows = read_rows(tmp_path / 'a')
    assert [(r['step'], r['val_iters']) for r in rows] == [('2', '2'), ('3', '4')]
    out, waited = run('--out', str(tmp_path / 'b'), '--max-iters', '6', '--target-val', '9')
    match = REACHED.search(out)
    assert match, out
    val, target, step, seconds = float(match[1]), match[2], int(match[3]), float(match[4])
    # the line prints seconds to 0.1 s (up to 0.05 s rounded up) from /proc's start time
    # (10 ms ticks, truncated): a run shorter than half a second can print more than waited
    assert (target, step) == ('9.00', 2) and val <= 9 and 0 < seconds <= waited + 0.05 + 0.01
    assert 'done: 2 steps' in out


def test_graphed_val_losses_fall_back_to_the_eager_forward_saying_why_once():
    from gpt.graph_eval import GraphedLossSum
    from gpt.models import GPT, GPTConfig
    text = load_text()[:5000]
    tok = CharTokenizer.from_text(text)
    data = TextBatches(text, tok, block_size=8, batch_size=2)
    mt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_embd=16, n_head=2, n_layer=1, dropout=0.5))
    fixed = FixedBatches(data, 'val', n=4, seed=1)
    lines = []
    graphed = GraphedLossSum(fixed, log=lines.append)
    first = graphed(model, 0, 4).item()             # no GPU here: the capture fails, eager answers
    assert first == pytest.approx(fixed.loss_sum(model, 0, 4).item(), rel=1e-6) and model.training
    assert graphed(model, 1, 3).item() == pytest.approx(fixed.loss_sum(model, 1, 3).item(), rel=1e-6)
    assert len(lines) == 1 and lines[0].startswith('CUDA graph: val losses evaluate eagerly: capture failed')
    assert graphed.graph is None and graphed.failed


def test_what_to_expect_on_other_devices():
    from gpt.stopping import RECIPE_STEPS, expectation, projection
    cpu = expectation('cpu', None, 1.5)
    assert 'targets an H100' in cpu and 'takes hours' in cpu and '--preset small' in cpu
    assert 'on NVIDIA A10G expect it to take longer' in expectation('gpu', 'NVIDIA A10G', 1.5)
    assert expectation('gpu', 'NVIDIA H100 80GB HBM3', 1.5) is None
    line = projection(1000.0, 100, 5000)          # 1 s a step, 100 steps done
    assert f"step ~{RECIPE_STEPS}" in line and f"~{round((RECIPE_STEPS - 100) / 60)} min more" in line
    assert 'max_iters 5000 in at most ~82 min' in line and '~2.7 h' in projection(2000.0, 100, 5000)
