"""`python -m gpt.plot RUN_DIR [RUN_DIR ...]`: loss curves of runs' log.csv files as a PNG.

    python -m gpt.plot runs/small                              # train and val loss against steps
    python -m gpt.plot runs/speedrun runs/speedrun_torch --x seconds --target 1.5 --out time.png

One run: its train and val curves. Several (say minitensor's speedrun beside
benchmarks/speedrun_torch.py's): each run's val curve, labelled by its directory. --x
seconds puts the seconds from each command's start (log.csv's time_s) on the x axis.
"""
import math
import sys
from pathlib import Path

from .errors import UserError
from .runlog import read_log
from .settings import OneLineErrorParser

FORMATS = ('png', 'pdf', 'svg')
X_AXES = {'step': 'step', 'seconds': "seconds from the command's start"}


def read_curves(run_dir, warn=print):
    """(steps, train losses, val losses) from RUN_DIR/log.csv; damaged rows are left out with a warning."""
    path = Path(run_dir) / 'log.csv'
    if not path.is_file():
        raise UserError(f"no log.csv in {run_dir}; pass the --out directory of a `python -m gpt.train` run")
    try:
        rows, skipped = read_log(path)
    except ValueError as e:
        raise UserError(str(e)) from None
    if not rows:
        damaged = f" ({skipped} damaged row(s) left out)" if skipped else ''
        raise UserError(f"{path} has no complete loss rows yet{damaged}; the first eval of a run writes one")
    if skipped:
        warn(f"warning: {path}: left out {skipped} damaged row(s) (a crash can cut the last one)")
    rows.sort(key=lambda r: int(r['step']))
    return ([int(r['step']) for r in rows], [float(r['train_loss']) for r in rows],
            [float(r['val_loss']) for r in rows])


def read_times(run_dir, steps):
    """log.csv's time_s at `steps` (the rows read_curves kept); a UserError for a log without it."""
    path = Path(run_dir) / 'log.csv'
    rows, _ = read_log(path)
    times = {int(r['step']): float(r['time_s']) for r in rows if 'time_s' in r and math.isfinite(float(r['time_s']))}
    if any(step not in times for step in steps):
        raise UserError(f"{path} has no time_s for every row (a log written before gpt.train counted seconds); "
                        f"plot it against --x step")
    return [times[step] for step in steps]


def output_path(run_dir, out):
    """Where the figure goes: RUN_DIR/loss.png by default, OUT/loss.png for a directory, and
    an extension matplotlib would otherwise add (or refuse) made explicit."""
    if out is None:
        return Path(run_dir) / 'loss.png'
    out = Path(out)
    if out.is_dir():
        return out / 'loss.png'
    if not out.suffix:
        return out.with_name(out.name + '.png')
    if out.suffix[1:].lower() not in FORMATS:
        raise UserError(f"--out {out}: unknown image format {out.suffix!r}; use one of "
                        f"{', '.join('.' + f for f in FORMATS)}")
    return out


def plot(run_dir, out=None, warn=print, x='step'):
    """Write the loss curves to `out` (default RUN_DIR/loss.png); returns the path written."""
    return plot_runs([run_dir], out, warn, x=x)


def plot_runs(run_dirs, out=None, warn=print, x='step', target=None):
    """One figure of several runs (val curves; train too for a single run) against steps or
    seconds, with a dashed line at `target`; `out` defaults to the first run's loss.png."""
    if x not in X_AXES:
        raise UserError(f"--x must be one of {', '.join(X_AXES)}, got {x!r}")
    if not run_dirs:
        raise UserError("no run directories to plot")
    curves = []
    for run_dir in run_dirs:        # a wrong directory is the first thing to report
        steps, train, val = read_curves(run_dir, warn)
        xs = steps if x == 'step' else read_times(run_dir, steps)
        curves.append((Path(run_dir).resolve().name, xs, train, val))
    out = output_path(run_dirs[0], out)
    try:
        import matplotlib
        matplotlib.use('Agg')            # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("plotting needs matplotlib: install the plot extra with "
                        "`pip install -e \".[plot]\"`") from None
    fig, ax = plt.subplots(figsize=(7, 4))
    if len(curves) == 1:
        name, xs, train, val = curves[0]
        ax.plot(xs, train, label='train', marker='.')
        ax.plot(xs, val, label='val', marker='.')
        ax.set_title(f"{name}: best val {min(val):.4f}")
    else:
        for name, xs, _, val in curves:
            ax.plot(xs, val, label=f"{name} (best {min(val):.4f})", marker='.')
        ax.set_title('val loss')
    if target is not None:
        ax.axhline(target, color='gray', linestyle='--', linewidth=1, label=f'target {target:g}')
    ax.set_xlabel(X_AXES[x])
    ax.set_ylabel('cross-entropy loss (nats per character)')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=120)
    finally:
        plt.close(fig)
    return out


def main(argv=None):
    p = OneLineErrorParser(prog='python -m gpt.plot', description=__doc__.split('\n')[0])
    p.add_argument('run_dirs', nargs='+', metavar='RUN_DIR',
                   help="run directories written by `python -m gpt.train --out RUN_DIR` (or "
                        "benchmarks/speedrun_torch.py --out RUN_DIR)")
    p.add_argument('--out', help="the image to write: .png (default: the first RUN_DIR's loss.png), .pdf or .svg")
    p.add_argument('--x', default='step', choices=sorted(X_AXES),
                   help="the x axis: optimizer steps, or seconds from each command's start")
    p.add_argument('--target', type=float, help="draw a dashed line at this loss (e.g. 1.5)")
    args = p.parse_args(argv)
    try:
        path = plot_runs(args.run_dirs, args.out, warn=lambda line: print(line, file=sys.stderr), x=args.x,
                         target=args.target)
    except (UserError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
