"""examples/lets_build_gpt.ipynb: the lecture walkthrough runs end to end, and git holds
it without outputs.

The code cells run in order in one namespace, as a kernel would run them (the notebook
uses no IPython magics), so no Jupyter packages are needed to check it.
"""
import contextlib
import io
import json
import os

import pytest

NOTEBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        'examples', 'lets_build_gpt.ipynb')


def code_cells():
    with open(NOTEBOOK, encoding='utf-8') as f:
        nb = json.load(f)
    return [c for c in nb['cells'] if c['cell_type'] == 'code']


def test_notebook_is_stored_without_outputs():
    for cell in code_cells():
        assert cell['outputs'] == [] and cell['execution_count'] is None, ''.join(cell['source'])[:80]


def run_notebook(rewrite=lambda src: src):
    namespace = {'__name__': '__main__'}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for i, cell in enumerate(code_cells()):
            source = rewrite(''.join(cell['source']))
            exec(compile(source, f'<cell {i}>', 'exec'), namespace)
    return printed.getvalue()


def test_notebook_runs_end_to_end():
    out = run_notebook()
    assert 'M parameters' in out and out.count('True') >= 2     # the trick's versions agree
    assert 'step 199' in out


def test_notebook_is_a_torch_program():
    """The same cells under PyTorch (imports rewritten): the walkthrough is the lecture's
    code, not code bent to fit minitensor."""
    pytest.importorskip('torch')
    out = run_notebook(lambda src: src.replace('import minitensor as torch', 'import torch')
                       .replace('import minitensor.nn as nn', 'import torch.nn as nn')
                       .replace('from minitensor.nn import functional as F', 'from torch.nn import functional as F'))
    assert 'step 199' in out
