"""benchmarks/speedrun_torch.py (the PyTorch twin) and benchmarks/speedrun_sweep.py, on the CPU."""
import csv
import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = ['--n-embd', '16', '--n-head', '2', '--n-layer', '1', '--block-size', '16', '--batch-size', '4',
        '--eval-batch-size', '4',
        '--eval-iters', '4', '--check-iters', '2', '--eval-interval', '2', '--log-interval', '1']


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args, env_extra=None, timeout=180):
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env_extra or {}))
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=timeout)


def test_the_twins_recipe_is_the_speedrun_preset():
    from gpt.config import preset
    twin = load_script('speedrun_torch')
    cfg = asdict(preset('speedrun'))
    assert {k: cfg[k] for k in twin.RECIPE} == twin.RECIPE
    a = twin.parse_args(['--lr', '2e-3', '--lr-decay-iters', '2000'])
    assert (a.learning_rate, a.lr_decay_iters, a.batch_size, a.tf32) == (2e-3, 2000, 64, True)


def test_the_twin_sees_our_corpus_split_and_fixed_batches_and_schedule():
    torch = pytest.importorskip('torch')
    import minitensor as mt
    from gpt import train as gtrain
    from gpt.config import preset
    from gpt.data import CharTokenizer, FixedBatches, TextBatches, load_text
    twin = load_script('speedrun_torch')
    ids, vocab = twin.load_corpus(twin.DEFAULT_DATA, np)
    text = load_text()
    tok = CharTokenizer.from_text(text)
    assert vocab == tok.to_string()
    np.testing.assert_array_equal(ids, tok.encode_array(text))
    data = TextBatches(text, tok, block_size=32, batch_size=4)
    ours = FixedBatches(data, 'val', n=5, seed=gtrain.seed_of(1337 + 2))
    val = torch.from_numpy(ids)[int(twin.TRAIN_FRACTION * len(ids)):]
    np.testing.assert_array_equal(data.splits['val'].numpy(), val.numpy())
    x, y = twin.fixed_val_batches(torch, val, 5, 4, 32, 1337, 'cpu')
    np.testing.assert_array_equal(ours.x.numpy(), x.numpy())
    np.testing.assert_array_equal(ours.y.numpy(), y.numpy())
    a = twin.parse_args([])
    cfg = preset('speedrun')
    for step in (0, 50, 99, 100, 1000, 4999, 5000, 6000):
        assert twin.learning_rate_at(step, a) == pytest.approx(gtrain.learning_rate_at(step, cfg), rel=1e-12)
    assert isinstance(mt.Generator(), mt.Generator)


def test_the_twin_trains_stops_and_logs_as_gpt_train(tmp_path, capsys):
    torch = pytest.importorskip('torch')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                # tiny matrices: threads only fight the other jobs here
    try:
        twin_runs(tmp_path, capsys)
    finally:
        torch.set_num_threads(threads)


def twin_runs(tmp_path, capsys):
    twin = load_script('speedrun_torch')
    assert twin.main(['--device', 'cpu', *TINY, '--max-iters', '6', '--target-val', '9', '--out',
                      str(tmp_path / 'a')]) == 0
    out = capsys.readouterr().out
    assert 'reached val ' in out and '<= 9.00 at step 2 after ' in out, out
    assert 's (from process start)' in out and 'start-up: python' in out and 'torch import' in out
    assert twin.main(['--device', 'cpu', *TINY, '--max-iters', '3', '--target-val', '0.1', '--out',
                      str(tmp_path / 'b')]) == 0
    assert 'did not reach val <= 0.10 in 3 steps' in capsys.readouterr().out
    with open(tmp_path / 'b' / 'log.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert [(r['step'], r['val_iters']) for r in rows] == [('2', '2'), ('3', '4')]
    assert float(rows[1]['time_s']) > float(rows[0]['time_s']) > 0


def test_without_torch_the_twin_says_so_in_one_line():
    code = ("import sys, runpy; sys.modules['torch'] = None; sys.argv = ['speedrun_torch.py', '--device', 'cpu']; "
            "sys.exit(runpy.run_path('benchmarks/speedrun_torch.py', run_name='__main__'))")
    proc = run('-c', code)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().startswith('benchmarks/speedrun_torch.py needs PyTorch (pip install torch)')


def test_the_stopping_rule_clock_and_log_import_without_minitensor():
    """The twin's start-up is PyTorch's own: what it takes from gpt never imports minitensor."""
    code = ("import sys; sys.modules['minitensor'] = None; import gpt.stopping, gpt.clock, gpt.runlog; "
            "print('ok')")
    proc = run('-c', code)
    assert proc.returncode == 0 and proc.stdout.strip() == 'ok', proc.stderr
    pytest.importorskip('torch')
    from gpt import models, torch_reference
    assert set(torch_reference.ATTENTIONS) == set(models.ATTENTIONS)


# ---------------------------------------------------------------- the sweep and the plot

def test_the_sweep_runs_each_variant_cold_and_tabulates(tmp_path, monkeypatch):
    sweep = load_script('speedrun_sweep')
    seen = []
    real_run = subprocess.run

    def spy(cmd, **kwargs):
        env = kwargs['env']
        seen.append({var: env[var] for var in sweep.CACHE_VARIABLES})
        for var in sweep.CACHE_VARIABLES:       # a fresh, empty cache for every run
            assert not Path(env[var]).exists() or not any(Path(env[var]).iterdir())
        return real_run(cmd, **kwargs)
    monkeypatch.setattr(sweep.subprocess, 'run', spy)
    tiny = ' '.join(TINY) + ' --max-iters 4'
    code = sweep.main(['--device', 'cpu', '--out', str(tmp_path), '--seeds', '3', '4', '--no-plot',
                       '--variant', f'easy={tiny} --target-val 9', '--variant', f'hard={tiny} --target-val 0.1'])
    assert code == 1                                        # 'hard' never reaches its target
    assert len(seen) == 4 and len({d['CUPY_CACHE_DIR'] for d in seen}) == 4
    assert not any(Path(d['CUPY_CACHE_DIR']).parent.exists() for d in seen)     # cleaned up
    table = (tmp_path / 'table.md').read_text()
    rows = [line for line in table.splitlines() if line.startswith('| easy') or line.startswith('| hard')]
    assert len(rows) == 4
    easy = [r.split(' | ') for r in rows if r.startswith('| easy')]
    assert all(cells[3] == '2' and float(cells[4]) > 0 and float(cells[6]) <= 9 for cells in easy)
    assert all(re.fullmatch(r'\d+\.\d\d s \(1 checks, 1 full\)', cells[7]) for cells in easy), easy
    assert all(cells[8] == '0' for cells in easy)              # the CPU compiles no kernels
    assert all('4 (not reached)' in r for r in rows if r.startswith('| hard'))
    assert '- easy: reached in 2 of 2 runs; seconds median' in table and '- hard: reached in 0 of 2 runs' in table
    assert (tmp_path / 'easy-s3' / 'log.csv').is_file() and '--seed 3' in (tmp_path / 'easy-s3' / 'command.txt').read_text()


def test_the_sweep_reruns_a_variant_warm_on_the_caches_its_cold_run_filled(tmp_path, monkeypatch):
    sweep = load_script('speedrun_sweep')
    seen = []
    real_run = subprocess.run

    def spy(cmd, **kwargs):
        cache = Path(kwargs['env']['CUPY_CACHE_DIR'])
        seen.append((cache, cache.is_dir() and any(cache.iterdir())))
        if not seen[-1][1]:                   # as CuPy would: the cold run fills the cache
            cache.mkdir(parents=True)
            (cache / 'module.cubin').write_bytes(b'x')
        return real_run(cmd, **kwargs)
    monkeypatch.setattr(sweep.subprocess, 'run', spy)
    tiny = ' '.join(TINY) + ' --max-iters 2 --target-val 9'
    assert sweep.main(['--device', 'cpu', '--out', str(tmp_path), '--no-plot', '--warm', '--variant',
                       f'v={tiny}']) == 0
    assert [filled for _, filled in seen] == [False, True] and seen[0][0] == seen[1][0]
    rows = [line.split(' | ') for line in (tmp_path / 'table.md').read_text().splitlines()
            if line.startswith('| v ') or line.startswith('| v-warm')]
    assert [(cells[0], cells[8]) for cells in rows] == [('| v', '1'), ('| v-warm', '0')]


def test_the_sweep_refuses_bad_variants_and_keeps_to_its_budget(capsys, tmp_path):
    sweep = load_script('speedrun_sweep')
    assert sweep.main(['--budget', '5', '--out', str(tmp_path), '--no-plot', '--variant', 'a=']) == 1
    assert '(--budget 5 s spent: not run: a-s1337)' in (tmp_path / 'table.md').read_text()
    with pytest.raises(SystemExit):
        sweep.main(['--variant', 'no flags here'])
    assert "expected NAME=FLAGS" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sweep.main(['--variant', 'a=', '--torch', 'a='])
    assert "variant names must differ" in capsys.readouterr().err


def write_run(path, rows, header='step,train_loss,val_loss,lr,step_ms,tokens_per_s,time_s,val_iters'):
    path.mkdir(parents=True)
    (path / 'log.csv').write_text(header + '\n' + ''.join(row + '\n' for row in rows))
    return path


def test_plot_puts_runs_on_one_seconds_axis(tmp_path, capsys):
    pytest.importorskip('matplotlib')
    from gpt import plot
    ours = write_run(tmp_path / 'minitensor', ['100,2.0,2.1,1e-3,20,1,5.5,10', '200,1.6,1.49,1e-3,20,1,8.0,100'])
    theirs = write_run(tmp_path / 'torch', ['100,2.1,2.2,1e-3,20,1,9.0,10', '200,1.7,1.52,1e-3,20,1,12.5,100'])
    out = tmp_path / 'time.png'
    assert plot.main([str(ours), str(theirs), '--x', 'seconds', '--target', '1.5', '--out', str(out)]) == 0
    assert out.read_bytes()[:4] == b'\x89PNG' and capsys.readouterr().out.strip() == f"wrote {out}"
    assert plot.read_times(theirs, [100, 200]) == [9.0, 12.5]
    old = write_run(tmp_path / 'old', ['0,4.2,4.3,0.001,nan,nan'], header='step,train_loss,val_loss,lr,step_ms,'
                                                                             'tokens_per_s')
    assert plot.main([str(old), '--x', 'seconds']) == 1
    err = capsys.readouterr().err.strip()
    assert 'has no time_s for every row' in err and '--x step' in err and '\n' not in err
    assert plot.main([str(old)]) == 0                       # steps still plot
