"""A run's log.csv: one row per evaluation, appended as training goes.

A crash can leave the last row cut short, and a file can be edited by hand, so the
reader keeps the rows it can parse and counts the others instead of failing on them.

time_s is seconds from the command's start (gpt/clock.py), val_iters how many batches
the val loss is the mean of. A run to --target-val (gpt/stopping.py) logs each check of
its stopping rule: val_loss is then the cheap estimate or the full measurement (val_iters
says which), and train_loss the mean training loss since the last row (dropout on).
Logs written before a column existed read with 'nan' in it.
"""
import csv
import math

CSV_FIELDS = ('step', 'train_loss', 'val_loss', 'lr', 'step_ms', 'tokens_per_s', 'time_s', 'val_iters')
MAX_FIELD = 1 << 10          # a real field is a number of a few characters


def read_log(path):
    """(rows, skipped): the complete rows of log.csv as dicts of their text, and how many
    damaged rows were left out. A file that is not a log at all raises ValueError."""
    rows, skipped = [], 0
    with open(path, newline='', encoding='utf-8', errors='replace') as f:
        header = f.readline(MAX_FIELD * len(CSV_FIELDS)).rstrip('\r\n').split(',')
        missing = [name for name in ('step', 'train_loss', 'val_loss') if name not in header]
        if missing:
            raise ValueError(f"{path} is not a gpt.train log: its header has no {', '.join(missing)} "
                             f"column (expected {','.join(CSV_FIELDS)})")
        for line in f:
            row = parse_row(line, header)
            if row is None:
                skipped += 1
            else:
                rows.append(row)
    return rows, skipped


def parse_row(line, header):
    """{column: text} of one complete line whose values are numbers; None for a damaged one."""
    if len(line) > MAX_FIELD * len(header) or not line.endswith('\n'):   # oversized, or cut by a crash
        return None
    values = next(csv.reader([line]), [])
    if len(values) != len(header):
        return None
    row = dict(zip(header, values))
    try:
        for name in CSV_FIELDS:
            if name in row:
                float(row[name])
        step = int(row['step'])
    except ValueError:
        return None
    if step < 0 or not all(math.isfinite(float(row[k])) for k in ('train_loss', 'val_loss')):
        return None
    return row


class CSVLog:
    """log.csv of the evals; on resume, the rows after the resumed step (and damaged ones) are dropped."""

    def __init__(self, path, resume_step=None, log=print):
        self.path = path
        rows = []
        if resume_step is not None and path.is_file():
            try:
                rows, skipped = read_log(path)
            except ValueError as e:
                rows, skipped = [], None
                log(f"warning: {e}; starting a new log.csv")
            if skipped:
                log(f"warning: {path}: left out {skipped} damaged row(s) (a crash can cut the last one)")
            rows = [r for r in rows if int(r['step']) <= resume_step]
        with open(path, 'w', newline='') as f:
            writer = csv.DictWriter(f, CSV_FIELDS, extrasaction='ignore', restval='nan')
            writer.writeheader()
            writer.writerows(rows)

    def append(self, **row):
        with open(self.path, 'a', newline='') as f:
            csv.DictWriter(f, CSV_FIELDS).writerow(row)
