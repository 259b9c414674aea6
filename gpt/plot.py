"""`python -m gpt.plot RUN_DIR`: the train/val loss curves of a run's log.csv as a PNG."""
import sys
from pathlib import Path

from .errors import UserError
from .runlog import read_log
from .settings import OneLineErrorParser

FORMATS = ('png', 'pdf', 'svg')


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


def plot(run_dir, out=None, warn=print):
    """Write the loss curves to `out` (default RUN_DIR/loss.png); returns the path written."""
    steps, train, val = read_curves(run_dir, warn)   # a wrong directory is the first thing to report
    out = output_path(run_dir, out)
    try:
        import matplotlib
        matplotlib.use('Agg')            # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("plotting needs matplotlib: install the plot extra with "
                        "`pip install -e \".[plot]\"`") from None
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, train, label='train', marker='.')
    ax.plot(steps, val, label='val', marker='.')
    ax.set_xlabel('step')
    ax.set_ylabel('cross-entropy loss (nats per character)')
    ax.set_title(f"{Path(run_dir).resolve().name}: best val {min(val):.4f}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=120)
    finally:
        plt.close(fig)
    return out


def main(argv=None):
    p = OneLineErrorParser(prog='python -m gpt.plot', description=__doc__)
    p.add_argument('run_dir', help="a run directory written by `python -m gpt.train --out RUN_DIR`")
    p.add_argument('--out', help="the image to write: .png (default RUN_DIR/loss.png), .pdf or .svg")
    args = p.parse_args(argv)
    try:
        path = plot(args.run_dir, args.out, warn=lambda line: print(line, file=sys.stderr))
    except (UserError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
