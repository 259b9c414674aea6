"""PyTorch programs in the style learners bring (the "Let's build GPT" lecture's scripts,
nanoGPT's model/train/sample, the makemore lectures), written for this repo in
tests/programs/ with `import minitensor as torch` as their only difference from a
PyTorch program. Each must run to its end ("PROGRAM OK": it asserts that its loss fell
and, for the manual-backprop exercise, that every hand-derived gradient matches
autograd's).

Where torch is importable, each program also runs under torch itself (its import lines
rewritten), which keeps the programs honest: they are torch programs, not programs
bent to fit minitensor.
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, 'programs')
REPO = os.path.dirname(HERE)

SINGLE_FILE = ['lecture_bigram.py', 'lecture_gpt.py', 'makemore_bigram.py', 'makemore_mlp.py',
               'makemore_batchnorm.py', 'makemore_backprop.py', 'makemore_wavenet.py']


def have_torch():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


ENGINES = ['minitensor', pytest.param('torch', marks=pytest.mark.skipif(
    not have_torch(), reason="the torch run checks the program itself; needs torch"))]


def as_engine(engine, tmp_path):
    """The programs' folder, with its import lines pointing at `engine`."""
    if engine == 'minitensor':
        return PROGRAMS
    dst = tmp_path / 'programs'
    shutil.copytree(PROGRAMS, dst)
    data = os.path.join(REPO, 'gpt', 'data', 'tinyshakespeare.txt')
    for path in dst.rglob('*.py'):
        text = path.read_text()
        text = re.sub(r'^import minitensor as torch$', 'import torch', text, flags=re.M)
        text = re.sub(r'^(from|import) minitensor', r'\1 torch', text, flags=re.M)
        text = text.replace("os.path.join(here, '..', '..', 'gpt', 'data', 'tinyshakespeare.txt')", repr(data))
        path.write_text(text)
    return str(dst)


def run(folder, *args, timeout=240):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
               PYTHONUNBUFFERED='1')
    proc = subprocess.run([sys.executable, *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert 'PROGRAM OK' in proc.stdout, proc.stdout[-3000:]
    return proc.stdout


@pytest.mark.parametrize('engine', ENGINES)
@pytest.mark.parametrize('program', SINGLE_FILE)
def test_program_runs_unchanged(program, engine, tmp_path):
    run(as_engine(engine, tmp_path), program)


@pytest.mark.parametrize('engine', ENGINES)
def test_nanogpt_style_train_resume_sample(engine, tmp_path):
    folder = os.path.join(as_engine(engine, tmp_path), 'nanogpt')
    data, out = str(tmp_path / 'data'), str(tmp_path / 'out')
    text = os.path.join(REPO, 'gpt', 'data', 'tinyshakespeare.txt')
    subprocess.run([sys.executable, 'prepare.py', text, data], cwd=folder, check=True,
                   capture_output=True)
    first = run(folder, 'train.py', f'--data_dir={data}', f'--out_dir={out}')
    assert 'saving checkpoint' in first
    resumed = run(folder, 'train.py', f'--data_dir={data}', f'--out_dir={out}', '--init_from=resume',
                  '--max_iters=50')
    assert 'step 40:' in resumed and 'step 0:' not in resumed     # it went on from iter 40
    sampled = run(folder, 'sample.py', out, data)
    assert 'iter_num 40' in sampled
    # the attention written out by hand (masked_fill + softmax) instead of SDPA
    run(folder, 'train.py', f'--data_dir={data}', f'--out_dir={out}_manual', '--flash=False',
        '--max_iters=20', '--dropout=0.1')
