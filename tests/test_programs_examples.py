"""Programs in the manner of PyTorch's own examples (DCGAN, VAE, REINFORCE, the word
language model with LSTM/GRU/Transformer), in tests/programs/examples_*.py with only
`import minitensor as torch`-style lines differing from torch programs. Each runs on
minitensor and, where torch is importable, on torch: seeded the same, they print the same
losses to the printed digits (torch's random streams and initialisations are reproduced)."""
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, 'programs')
REPO = os.path.dirname(HERE)
NAMES = ['examples_dcgan.py', 'examples_vae.py', 'examples_reinforce.py', 'examples_word_lm.py']


def _run(path, cwd):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''), PYTHONUNBUFFERED='1')
    proc = subprocess.run([sys.executable, '-W', 'ignore', path], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize('name', NAMES)
def test_example_program_runs_and_matches_torch(name, tmp_path):
    ours = _run(os.path.join(PROGRAMS, name), PROGRAMS)
    assert ours.strip(), "the program printed nothing"
    try:
        import torch  # noqa: F401
    except ImportError:
        return
    text = open(os.path.join(PROGRAMS, name)).read()
    text = re.sub(r'^(from|import) minitensor', r'\1 torch', text, flags=re.M)
    twin = tmp_path / name
    twin.write_text(text)
    theirs = _run(str(twin), str(tmp_path))
    assert ours.replace('minitensor.Size', 'torch.Size') == theirs
