"""The commands as a user runs them: python -m gpt.train / gpt.sample / gpt.plot in subprocesses."""
import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gpt.data import load_text

REPO = Path(__file__).resolve().parents[1]
TINY_FLAGS = ['--n-embd', '16', '--n-head', '2', '--n-layer', '1', '--block-size', '8',
              '--batch-size', '4', '--eval-iters', '2', '--no-progress']


def run(module, *args, check=True):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, '-m', module, *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} {args} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def assert_one_line_error(proc, *fragments):
    err = proc.stderr.strip()
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr and len(err.splitlines()) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp('data') / 'corpus.txt'
    path.write_text(load_text()[:20000], encoding='utf-8')
    return path


@pytest.fixture(scope='module')
def run_dir(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp('run')
    proc = run('gpt.train', '--data', corpus, '--out', out, '--max-iters', 6, '--eval-interval', 3,
               '--sample-tokens', 20, *TINY_FLAGS)
    assert 'done: 6 steps' in proc.stdout and 'a sample of 20 characters' in proc.stdout
    return out


def test_train_writes_a_run(run_dir):
    assert (run_dir / 'ckpt.npz').is_file() and (run_dir / 'sample.txt').is_file()
    rows = list(csv.DictReader(open(run_dir / 'log.csv', newline='')))
    assert [r['step'] for r in rows] == ['0', '3', '6']
    assert not list(run_dir.glob('.*.tmp'))                        # atomic writes leave no temp files


def test_sample_continues_a_prompt(run_dir):
    proc = run('gpt.sample', '--checkpoint', run_dir / 'ckpt.npz', '--prompt', 'First', '--max-new-tokens', 15,
               '--num-samples', 2, '--top-k', 5, '--temperature', 0.8, '--seed', 1)
    samples = proc.stdout.split('--- sample ')[1:]
    assert len(samples) == 2
    for s in samples:
        text = s.split('---\n', 1)[1].rstrip('\n')
        assert text.startswith('First') and len(text) == 20
    again = run('gpt.sample', '--checkpoint', run_dir, '--prompt', 'First', '--max-new-tokens', 15,
                '--num-samples', 2, '--top-k', 5, '--temperature', 0.8, '--seed', 1)
    assert again.stdout == proc.stdout                              # seeded: reproducible


def test_plot_writes_a_png(run_dir, tmp_path):
    pytest.importorskip('matplotlib')
    out = tmp_path / 'curves.png'
    proc = run('gpt.plot', run_dir, '--out', out)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and str(out) in proc.stdout


def test_plot_without_a_log_is_a_clear_error(tmp_path):
    assert_one_line_error(run('gpt.plot', tmp_path, check=False), 'no log.csv in')


def test_sample_refuses_unknown_prompt_characters(run_dir):
    assert_one_line_error(run('gpt.sample', '--checkpoint', run_dir, '--prompt', 'hi \u2603', check=False),
                          "the prompt can't be encoded", "'\u2603'")


def test_sample_refuses_bad_checkpoints(tmp_path):
    bad = tmp_path / 'ckpt.npz'
    bad.write_bytes(b'PK\x03\x04 truncated')
    assert_one_line_error(run('gpt.sample', '--checkpoint', bad, check=False), 'ckpt.npz')
    assert_one_line_error(run('gpt.sample', '--checkpoint', tmp_path / 'none.npz', check=False),
                          'checkpoint not found')


def test_sample_refuses_a_checkpoint_whose_vocabulary_does_not_fit_its_model(run_dir, tmp_path):
    import minitensor as mt
    ck = mt.load(run_dir / 'ckpt.npz')
    ck['vocab'] = ck['vocab'][:-1]
    mt.save(ck, tmp_path / 'ckpt.npz')
    assert_one_line_error(run('gpt.sample', '--checkpoint', tmp_path / 'ckpt.npz', check=False),
                          "vocabulary has", "characters but its model was built for")


def test_train_bad_inputs_are_one_line_errors(tmp_path, corpus):
    assert_one_line_error(run('gpt.train', '--device', 'tpu', '--out', tmp_path, check=False), 'unknown device')
    assert_one_line_error(run('gpt.train', '--max-iters', -3, '--out', tmp_path, check=False),
                          'max_iters must be a positive integer')
    assert_one_line_error(run('gpt.train', '--data', tmp_path / 'missing.txt', '--out', tmp_path, check=False),
                          'data file not found')
    assert_one_line_error(run('gpt.train', '--max-iters', 'many', check=False), "invalid int value: 'many'")


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes_the_run(tmp_path, corpus):
    out = tmp_path / 'run'
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, '-m', 'gpt.train', '--data', str(corpus), '--out', str(out), '--max-iters', '100000',
           '--eval-interval', '1000', '--log-interval', '1', '--sample-tokens', '0', *TINY_FLAGS]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    for line in proc.stdout:                           # wait until it is training
        if line.startswith('step      5/'):
            break
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert 'Traceback' not in stderr and 'stopping after this step' in stderr
    assert 'checkpoint saved to' in stdout and '--resume' in stdout
    import gpt.checkpoint as ckpt_io
    step = ckpt_io.load_checkpoint(out / 'ckpt.npz')['step']
    assert step >= 5
    proc = run('gpt.train', '--out', out, '--resume', '--max-iters', step + 3, '--no-progress')
    assert f'from step {step} to {step + 3}' in proc.stdout and f'done: {step + 3} steps' in proc.stdout


def test_plot_without_matplotlib_says_how_to_install_it(run_dir, monkeypatch, capsys):
    from gpt import plot
    monkeypatch.setitem(sys.modules, 'matplotlib', None)           # import matplotlib -> ImportError
    assert plot.main([str(run_dir)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == 'error: plotting needs matplotlib: install the plot extra with `pip install -e ".[plot]"`'
