"""`python -m gpt.plot RUN_DIR`: the train/val loss curves of a run's log.csv as a PNG."""
import csv
import sys
from pathlib import Path

from .train import OneLineErrorParser


def read_log(run_dir):
    """(steps, train losses, val losses) from RUN_DIR/log.csv."""
    path = Path(run_dir) / 'log.csv'
    if not path.is_file():
        raise FileNotFoundError(f"no log.csv in {run_dir}; pass the --out directory of a "
                                f"`python -m gpt.train` run")
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    if not rows or 'val_loss' not in rows[0]:
        raise ValueError(f"{path} has no loss rows yet (the first eval writes one)")
    steps = [int(r['step']) for r in rows]
    return steps, [float(r['train_loss']) for r in rows], [float(r['val_loss']) for r in rows]


def plot(run_dir, out=None):
    """Write the loss curves to `out` (default RUN_DIR/loss.png); returns its path."""
    steps, train, val = read_log(run_dir)   # a wrong directory is the first thing to report
    try:
        import matplotlib
        matplotlib.use('Agg')            # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plotting needs matplotlib: install the plot extra with "
                           "`pip install -e \".[plot]\"`") from None
    out = Path(out) if out else Path(run_dir) / 'loss.png'
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, train, label='train', marker='.')
    ax.plot(steps, val, label='val', marker='.')
    ax.set_xlabel('step')
    ax.set_ylabel('cross-entropy loss (nats per character)')
    ax.set_title(f"{Path(run_dir).name}: best val {min(val):.4f}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None):
    p = OneLineErrorParser(prog='python -m gpt.plot', description=__doc__)
    p.add_argument('run_dir', help="a run directory written by `python -m gpt.train --out RUN_DIR`")
    p.add_argument('--out', help="the PNG to write (default: RUN_DIR/loss.png)")
    args = p.parse_args(argv)
    try:
        path = plot(args.run_dir, args.out)
    except (ValueError, RuntimeError, FileNotFoundError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
