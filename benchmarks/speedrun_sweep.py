"""Speedrun variants in one device call, each from a cold start: a table of time to val 1.50.

    python benchmarks/speedrun_sweep.py --out $OUT/sweep --seeds 1337 1338 1339 \\
        --variant base= --variant 'lr2e-3=--lr 2e-3 --lr-decay-iters 2500' \\
        --torch eager= --torch 'compile-bf16=--compile --bf16'

Each run is its own process: `python -m gpt.train --preset speedrun --device gpu FLAGS`
for a --variant, `python benchmarks/speedrun_torch.py FLAGS` for a --torch one, with
empty kernel caches (CUPY_CACHE_DIR, TORCHINDUCTOR_CACHE_DIR and TRITON_CACHE_DIR each a
new temporary directory), so every run compiles what it needs as on a machine that never
ran it (with --warm each variant runs again on the caches its cold run filled, so the
difference is what compilation costs). One row per run, printed as it finishes and
rewritten to OUT/table.md: the step and val at which it reached the target, its seconds
from its own process start (what it printed), the wall clock of the whole command as
this script saw it, what its evaluations cost, the files it wrote into its kernel
caches (the modules it compiled) and its start-up line. Each run's log.csv stays in OUT/<variant>-s<seed>/, and with matplotlib installed
OUT/loss_vs_seconds.png shows every run's val loss against seconds (gpt.plot).
"""
import argparse
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REACHED = re.compile(r"^reached val (?P<val>\d+\.\d+) <= (?P<target>\S+) at step (?P<step>\d+) after "
                     r"(?P<seconds>\d+\.\d+) s", re.M)
MISSED = re.compile(r"^did not reach val <= \S+ in (?P<step>\d+) steps .*?final val (?P<val>\d+\.\d+)", re.M)
STARTUP = re.compile(r"^start-up: (.*)$", re.M)
EVALUATION = re.compile(r"^evaluation: (?P<checks>\d+) checks, (?P<full>\d+) full measurements, "
                        r"(?P<seconds>\d+\.\d+) s in all$", re.M)
CACHE_VARIABLES = ('CUPY_CACHE_DIR', 'TORCHINDUCTOR_CACHE_DIR', 'TRITON_CACHE_DIR')


def variant(text):
    """'NAME=FLAGS' -> (NAME, [flags])."""
    name, sep, flags = text.partition('=')
    if not sep or not re.fullmatch(r'[\w.+-]+', name):
        raise argparse.ArgumentTypeError(f"expected NAME=FLAGS with NAME of letters, digits, '.', '+', '-' or "
                                         f"'_' (e.g. 'lr2e-3=--lr 2e-3'), got {text!r}")
    return name, shlex.split(flags)


def command(kind, flags, device, seed, run_dir):
    if kind == 'minitensor':
        return [sys.executable, '-m', 'gpt.train', '--preset', 'speedrun', '--device', device, '--out', str(run_dir),
                '--force', '--seed', str(seed), '--sample-tokens', '0', '--no-progress', *flags]
    return [sys.executable, str(REPO / 'benchmarks' / 'speedrun_torch.py'),
            '--device', 'cuda' if device == 'gpu' else 'cpu', '--out', str(run_dir), '--seed', str(seed), *flags]


def cached_files(caches):
    """Files the run left in its kernel caches: on the GPU, the modules it compiled."""
    return sum(1 for path in Path(caches).rglob('*') if path.is_file())


def run_one(kind, name, flags, device, seed, out, timeout, caches):
    """Run one variant with the kernel caches under `caches` (a new empty directory: a cold
    start; the same one again: a warm start); its row as a dict."""
    run_dir = out / f"{name}-s{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    before = cached_files(caches)
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED='1',
               **{var: str(caches / var.lower()) for var in CACHE_VARIABLES})
    cmd = command(kind, flags, device, seed, run_dir)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)
        stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or '')
        stderr = (e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or '')) + \
            f"\n(timed out after {timeout} s)"
        code = 'timeout'
    wall = time.perf_counter() - start
    (run_dir / 'stdout.txt').write_text(stdout)
    (run_dir / 'stderr.txt').write_text(stderr)
    (run_dir / 'command.txt').write_text(shlex.join(cmd) + '\n')
    row = {'variant': name, 'engine': kind, 'seed': seed, 'flags': shlex.join(flags), 'exit': code,
           'wall_s': wall, 'step': None, 'seconds': None, 'val': None, 'reached': False,
           'startup': (STARTUP.search(stdout) or [None, ''])[1], 'compiled': cached_files(caches) - before}
    evaluation = EVALUATION.search(stdout)
    row['eval'] = (f"{evaluation['seconds']} s ({evaluation['checks']} checks, {evaluation['full']} full)"
                   if evaluation else '-')
    reached, missed = REACHED.search(stdout), MISSED.search(stdout)
    if reached:
        row.update(step=int(reached['step']), seconds=float(reached['seconds']), val=float(reached['val']),
                   reached=True, target=reached['target'])
    elif missed:
        row.update(step=int(missed['step']), val=float(missed['val']))
    return row


def fmt(value, spec):
    return '-' if value is None else format(value, spec)


def table(rows, target):
    targets = sorted({r['target'] for r in rows if r.get('target')})
    target = ' / '.join(targets) if targets else target       # what the runs said they stopped at
    lines = [f"| variant | engine | seed | reached val <= {target} at step | seconds (its own count) | "
             f"wall s (as launched) | final val | evaluation | cache files written | exit | start-up |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- |"]
    for r in rows:
        step = fmt(r['step'], 'd') + ('' if r['reached'] or r['step'] is None else ' (not reached)')
        lines.append(f"| {r['variant']} | {r['engine']} | {r['seed']} | {step} | {fmt(r['seconds'], '.1f')} | "
                     f"{r['wall_s']:.1f} | {fmt(r['val'], '.4f')} | {r['eval']} | {r['compiled']} | {r['exit']} | "
                     f"{r['startup']} |")
    summary = []
    for name in dict.fromkeys(r['variant'] for r in rows):
        runs = [r for r in rows if r['variant'] == name]
        done = [r['seconds'] for r in runs if r['reached']]
        if done:
            summary.append(f"- {name}: reached in {len(done)} of {len(runs)} runs; seconds median "
                           f"{statistics.median(done):.1f}, worst {max(done):.1f}"
                           + ('' if len(done) == len(runs) else ' (of those that reached it)'))
        else:
            summary.append(f"- {name}: reached in 0 of {len(runs)} runs")
    return '\n'.join(lines + [''] + summary) + '\n'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--variant', type=variant, action='append', default=[], metavar='NAME=FLAGS',
                   help="a minitensor run: gpt.train --preset speedrun with these extra flags (repeatable)")
    p.add_argument('--torch', type=variant, action='append', default=[], metavar='NAME=FLAGS',
                   help="a PyTorch run: benchmarks/speedrun_torch.py with these flags (repeatable)")
    p.add_argument('--seeds', type=int, nargs='+', default=[1337], help="run every variant with each seed")
    p.add_argument('--device', default='gpu', choices=['gpu', 'cpu'], help="where the runs train")
    p.add_argument('--out', default='runs/speedrun_sweep', help="where the runs' directories and table.md go")
    p.add_argument('--timeout', type=float, default=300, help="seconds before a run is stopped")
    p.add_argument('--budget', type=float, default=None,
                   help="seconds for the whole sweep (e.g. 540 inside a 600 s device call): no run starts "
                        "after it, and a run's timeout is cut to what is left")
    p.add_argument('--target', default='1.50', help="the target the runs stop at, for the plot's line and the "
                                                    "table's header (where no run reached its own)")
    p.add_argument('--warm', action='store_true',
                   help="run each variant a second time on the kernel caches its cold run filled (as NAME-warm): "
                        "the difference is what compilation costs")
    p.add_argument('--no-plot', dest='plot', action='store_false', help="skip loss_vs_seconds.png")
    args = p.parse_args(argv)
    if not args.variant and not args.torch:
        args.variant = [('speedrun', [])]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan = [('minitensor', name, flags) for name, flags in args.variant] + \
           [('torch', name, flags) for name, flags in args.torch]
    names = [name for _, name, _ in plan]
    if len(set(names)) != len(names):
        p.error(f"variant names must differ: {', '.join(names)}")
    rows, skipped = [], []
    sweep_start = time.perf_counter()
    for seed in args.seeds:                 # seeds outermost: a cut-short sweep still has every variant once
        for kind, name, flags in plan:
            caches = Path(tempfile.mkdtemp(prefix='speedrun-cold-'))
            try:
                for run_name in (name, f"{name}-warm") if args.warm else (name,):
                    left = math.inf if args.budget is None else args.budget - (time.perf_counter() - sweep_start)
                    if left < 10:
                        skipped.append(f"{run_name}-s{seed}")
                        continue
                    row = run_one(kind, run_name, flags, args.device, seed, out, min(args.timeout, left), caches)
                    rows.append(row)
                    print(f"{run_name} seed {seed}: " + (f"reached at step {row['step']} in {row['seconds']:.1f} s"
                                                         if row['reached'] else f"not reached (exit {row['exit']})")
                          + f"; wall {row['wall_s']:.1f} s; {row['startup']}", flush=True)
                    (out / 'table.md').write_text(table(rows, args.target))
            finally:
                shutil.rmtree(caches, ignore_errors=True)
    if skipped:
        note = f"(--budget {args.budget:g} s spent: not run: {', '.join(skipped)})\n"
        (out / 'table.md').write_text(table(rows, args.target) + note)
        print(note)
    print()
    print(table(rows, args.target))
    if args.plot:
        from gpt.errors import UserError
        from gpt.plot import plot_runs
        runs = [out / f"{r['variant']}-s{r['seed']}" for r in rows if (out / f"{r['variant']}-s{r['seed']}"
                                                                         / 'log.csv').is_file()]
        try:
            print(f"wrote {plot_runs(runs, out / 'loss_vs_seconds.png', x='seconds', target=float(args.target))}")
        except UserError as e:
            print(f"(no plot: {e})")
    return 0 if rows and all(r['reached'] for r in rows) and not skipped else 1


if __name__ == '__main__':
    sys.path.insert(0, str(REPO))
    sys.exit(main())
