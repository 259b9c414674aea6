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


# ---------------------------------------------------------------- gpt.sample, in-process

def sample_main(capsys, *argv):
    from gpt import sample as gsample
    code = gsample.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err.strip()


def test_sample_prints_tokens_per_second_and_the_cache_changes_nothing(run_dir, capsys):
    code, cached, err = sample_main(capsys, '--checkpoint', run_dir, '--max-new-tokens', 40, '--seed', 3)
    assert code == 0 and 'tokens/s (KV cache on)' in err and '40 new tokens x 1 sample(s)' in err
    code, uncached, err = sample_main(capsys, '--checkpoint', run_dir, '--max-new-tokens', 40, '--seed', 3,
                                      '--no-cache')
    assert code == 0 and uncached == cached and 'KV cache off' in err


def test_sample_ctrl_c_prints_what_was_generated_and_exits_130(run_dir, capsys, monkeypatch):
    import minitensor as mt
    real = mt.multinomial
    calls = {'n': 0}

    def interrupted_after_5(*args, **kwargs):      # Ctrl-C arrives while drawing the 6th token
        calls['n'] += 1
        if calls['n'] == 6:
            raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr(mt, 'multinomial', interrupted_after_5)
    code, out, err = sample_main(capsys, '--checkpoint', run_dir, '--prompt', 'First', '--max-new-tokens', 100,
                                 '--num-samples', 2)
    assert code == 130 and 'Traceback' not in err
    samples = [s.split('---\n', 1)[1].rstrip('\n') for s in out.split('--- sample ')[1:]]
    assert len(samples) == 2 and all(s.startswith('First') and len(s) == 10 for s in samples)
    assert err.startswith('interrupted: 5 new tokens x 2 sample(s)')


@pytest.mark.parametrize('argv, message', [
    (['--num-samples', 10 ** 12], 'lower --num-samples'),
    (['--max-new-tokens', 10 ** 15], 'lower --max-new-tokens or --num-samples'),
    (['--num-samples', 0], '--num-samples must be positive'),
    (['--temperature', 'nan'], '--temperature must be a positive finite number, got nan'),
    (['--top-k', 0], '--top-k must be at least 1'),
])
def test_sample_absurd_sizes_are_one_line(run_dir, capsys, argv, message):
    code, out, err = sample_main(capsys, '--checkpoint', run_dir, *argv)
    assert code == 1 and err.startswith('error: ') and message in err and '\n' not in err, err


def crafted(run_dir, tmp_path, edit):
    import minitensor as mt
    ck = mt.load(run_dir / 'ckpt.npz')
    edit(ck)
    path = tmp_path / 'ckpt.npz'
    mt.save(ck, path)
    return path


@pytest.mark.parametrize('edit, message', [
    (lambda ck: ck.pop('model_state'), "entry 'model_state' is NoneType, expected dict"),
    (lambda ck: ck.update(step='12'), "entry 'step' is str, expected int"),
    (lambda ck: ck.update(vocab=3), "entry 'vocab' is int, expected str"),
    (lambda ck: ck['model_spec'].update(n_embd=2 ** 30, n_head=2),
     "model_spec declares token_embedding_table.weight of shape"),
    (lambda ck: ck['model_spec'].update(block_size=2 ** 20), "position_embedding_table.weight of shape (1048576, 16)"),
    (lambda ck: ck['model_spec'].update(n_layer=10 ** 9), "n_layer=1000000000 and n_head=2 are not the blocks"),
    (lambda ck: ck['model_spec'].update(n_head='2'), "model_spec: n_head must be a positive integer, got '2'"),
    (lambda ck: ck['model_spec'].update(model='gpt5'), "model_spec's model is 'gpt5'"),
    (lambda ck: ck['model_spec'].update(flash=True), "model_spec has unknown entries ['flash']"),
    (lambda ck: ck['model_state'].update({'lm_head.bias': [1.0]}), "model_state entry 'lm_head.bias' is not a tensor"),
    (lambda ck: ck['model_state'].pop('ln_f.bias'), "missing keys: ln_f.bias"),
    (lambda ck: ck.update(version='2'), "checkpoint version '2'"),
])
def test_sample_crafted_checkpoints_are_one_line(run_dir, tmp_path, capsys, edit, message):
    path = crafted(run_dir, tmp_path, edit)
    code, out, err = sample_main(capsys, '--checkpoint', path, '--max-new-tokens', 3)
    assert code == 1 and err.startswith('error: ') and message in err and '\n' not in err, err


# ---------------------------------------------------------------- gpt.plot, in-process

def plot_main(capsys, *argv):
    from gpt import plot
    code = plot.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out.strip(), out.err.strip()


def write_log(directory, text):
    directory.mkdir(exist_ok=True)
    (directory / 'log.csv').write_text(text)
    return directory


LOG = ('step,train_loss,val_loss,lr,step_ms,tokens_per_s\r\n0,4.2,4.3,0.001,nan,nan\r\n'
       '250,2.5,2.6,0.001,40.1,19000.0\r\n')


def test_plot_leaves_out_a_row_cut_by_a_crash_with_one_warning(tmp_path, capsys):
    pytest.importorskip('matplotlib')
    run = write_log(tmp_path / 'run', LOG + '500,2.1,2.')
    code, out, err = plot_main(capsys, run)
    assert code == 0 and out == f"wrote {run / 'loss.png'}" and (run / 'loss.png').is_file()
    assert err == f"warning: {run / 'log.csv'}: left out 1 damaged row(s) (a crash can cut the last one)"


@pytest.mark.parametrize('text, message', [
    ('train_loss,val_loss\n1.0,2.0\n', 'its header has no step column'),
    ('', 'its header has no step, train_loss, val_loss column'),
    ('step,train_loss,val_loss\n' + '9' * 200000 + ',1,2\n', 'has no complete loss rows yet'),
    ('step,train_loss,val_loss\n1,\x00,2\n', 'has no complete loss rows yet'),
], ids=['no step column', 'empty', 'huge field', 'NUL'])
def test_plot_logs_that_are_not_logs_are_one_line(tmp_path, capsys, text, message):
    code, out, err = plot_main(capsys, write_log(tmp_path / 'run', text))
    assert code == 1 and err.startswith('error: ') and message in err and '\n' not in err, err


def test_plot_out_reports_the_file_it_really_wrote(tmp_path, capsys):
    pytest.importorskip('matplotlib')
    run = write_log(tmp_path / 'run', LOG)
    code, out, _ = plot_main(capsys, run, '--out', tmp_path / 'curves')          # no extension
    assert code == 0 and out == f"wrote {tmp_path / 'curves.png'}"
    assert (tmp_path / 'curves.png').read_bytes()[:4] == b'\x89PNG' and not (tmp_path / 'curves').exists()
    code, out, _ = plot_main(capsys, run, '--out', tmp_path)                     # a directory
    assert code == 0 and out == f"wrote {tmp_path / 'loss.png'}" and (tmp_path / 'loss.png').is_file()
    code, out, _ = plot_main(capsys, run, '--out', tmp_path / 'c.svg')
    assert code == 0 and (tmp_path / 'c.svg').read_text().lstrip().startswith('<?xml')
    code, out, err = plot_main(capsys, run, '--out', tmp_path / 'c.jpeg2000')
    assert code == 1 and "unknown image format '.jpeg2000'" in err
