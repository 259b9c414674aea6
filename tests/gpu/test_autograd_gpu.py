"""Version counters, in-place ops on non-leaf tensors, setitem joining the graph and
views rebased through CopySlices, on the GPU (CuPy's .base, add.at and can_cast), with
the CPU's results. Skips without CuPy or a GPU."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn.functional as F

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")


def run(device):
    g = np.random.default_rng(0)
    x = mt.tensor(g.normal(size=(4, 3)), dtype=mt.float64, device=device, requires_grad=True)
    w = mt.tensor(g.normal(size=(3, 5)), dtype=mt.float64, device=device, requires_grad=True)
    logits = x @ w                                       # (4, 5)
    logits += w[0]                                       # in place on a non-leaf
    out = mt.zeros(4, 6, dtype=mt.float64, device=device)
    out[:, 1:] = logits.tanh()                           # setitem joins the graph
    row = out[2]
    row.mul_(3)                                          # a view: the base gets CopySlices
    dl = F.softmax(logits, 1) * 1                        # softmax saves its output: edit a copy
    dl[range(4), mt.tensor([1, 0, 4, 1], device=device)] -= 1
    (out.sum() + (dl * 2).sum()).backward()
    return [t.cpu().tolist() for t in (out, x.grad, w.grad)]


def test_inplace_and_setitem_match_the_cpu():
    for a, b in zip(run('cpu'), run('gpu')):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_version_errors_on_the_gpu():
    x = mt.ones(3, device='gpu', requires_grad=True)
    y = x.exp()
    y.view(3, 1).add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match="can't be cast"):
        mt.arange(3, device='gpu').add_(0.5)
