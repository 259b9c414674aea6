"""Version counters: an in-place edit of a tensor saved for backward makes backward raise
torch's error (never a wrong gradient); edits of tensors nobody saved are fine.
Each case runs on minitensor and, where importable, on torch: both raise or both agree."""
import numpy as np
import pytest

import minitensor as mt


def _libs():
    libs = [mt]
    try:
        import torch
        libs.append(torch)
    except ImportError:
        pass
    return libs


LIBS = _libs()


def run(lib, case):
    """(gradients as lists) or 'raises' for one case on one library."""
    x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    w = lib.tensor([1.5, 2.0, -0.5], requires_grad=True)
    try:
        case(lib, x, w)
    except RuntimeError as e:
        assert 'modified by an inplace operation' in str(e) or 'second time' in str(e), str(e)
        return 'raises'
    return [None if t.grad is None else np.round(t.grad.tolist(), 6).tolist() for t in (x, w)]


def exp_then_iadd(lib, x, w):                      # Exp saved its output
    y = x.exp()
    y += 1
    y.sum().backward()


def mul_scalar_then_iadd(lib, x, w):               # x * 2 saves nothing of y
    y = x * 2
    y += 1
    y.sum().backward()


def saved_input_modified(lib, x, w):
    a = x * 1
    y = a * w                                      # Mul saved a
    a += 1
    y.sum().backward()


def setitem_after_use(lib, x, w):
    a = x * 1
    y = (a * w).sum()
    a[0] = 3.0
    y.backward()


def view_mul_of_saved(lib, x, w):
    a = x * 1
    y = a.tanh()                                   # saves its output, viewed below
    v = y[1:]
    v.mul_(2)
    (y * 1).sum().backward()


def view_of_input_modified(lib, x, w):
    a = x * 1
    y = (a * w).sum()
    a.view(3, 1).mul_(2)                           # a view shares a's version
    y.backward()


def no_grad_weight_update(lib, x, w):
    y = (x * w).sum()
    with lib.no_grad():
        w += 1                                     # an optimizer step between forward and backward
    y.backward()


def no_grad_update_of_unsaved(lib, x, w):
    y = (x + w).sum()                              # Add saves nothing
    with lib.no_grad():
        w += 1
    y.backward()


def detach_shares_version(lib, x, w):
    y = x.exp()
    y.detach().add_(1)
    y.sum().backward()


def data_does_not_bump(lib, x, w):
    y = x * w
    w.data.add_(1)                                 # .data is invisible to the checks (as torch)
    y.sum().backward()


def exp_inplace_then_use(lib, x, w):
    a = x * 1
    a.exp_()                                       # saves the result: a itself
    a.sum().backward()


def exp_inplace_then_modified(lib, x, w):
    a = x * 1
    a.exp_()
    a.add_(1)
    a.sum().backward()


def sigmoid_then_mul_(lib, x, w):
    y = x.sigmoid()
    y.mul_(2)
    y.sum().backward()


def second_backward_nothing_saved(lib, x, w):
    s = (x + w).sum()
    s.backward()
    s.backward()                                   # Add and Sum saved nothing: accumulates


def second_backward_something_saved(lib, x, w):
    s = (x * w).sum()
    s.backward()
    s.backward()


CASES = [exp_then_iadd, mul_scalar_then_iadd, saved_input_modified, setitem_after_use,
         view_mul_of_saved, view_of_input_modified, no_grad_weight_update,
         no_grad_update_of_unsaved, detach_shares_version, data_does_not_bump,
         exp_inplace_then_use, exp_inplace_then_modified, sigmoid_then_mul_,
         second_backward_nothing_saved, second_backward_something_saved]

EXPECTED_RAISES = {exp_then_iadd, saved_input_modified, setitem_after_use, view_mul_of_saved,
                   view_of_input_modified, no_grad_weight_update, detach_shares_version,
                   exp_inplace_then_modified, sigmoid_then_mul_, second_backward_something_saved}


@pytest.mark.parametrize('case', CASES, ids=lambda c: c.__name__)
def test_against_torch(case):
    ours = run(mt, case)
    assert (ours == 'raises') == (case in EXPECTED_RAISES), ours
    if len(LIBS) > 1:
        assert ours == run(LIBS[1], case)


def test_error_names_the_op_and_the_versions():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y += 1
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: \[minitensor.float32 \[2\]\], "
                                           r"which is output 0 of ExpBackward, is at version 1; "
                                           r"expected version 0 instead"):
        y.sum().backward()


def test_version_is_readable_and_shared_by_views():
    x = mt.zeros(2, 3)
    assert x._version == 0
    views = [x.view(6), x.reshape(3, 2), x.transpose(0, 1), x.permute(1, 0), x[0], x[:, 1:],
             x.unsqueeze(0), x.detach(), x[None].squeeze(0), x.expand(2, 2, 3), x.t()]
    x.add_(1)
    assert x._version == 1
    assert all(v._version == 1 for v in views)
    views[0].mul_(2)                               # a view's edit bumps the base
    assert x._version == 2 and x.tolist() == [[2.0] * 3] * 2
    d = x.data
    assert d._version == 0                         # .data has a counter of its own
    d.add_(1)
    assert x._version == 2 and x[0, 0].item() == 3.0
    assert x[[0, 1]]._version == 0                 # advanced indexing copies: not a view


def test_in_place_on_an_expanded_view_is_refused():
    x = mt.zeros(1, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        x.expand(2, 3).add_(1)


@pytest.mark.parametrize('lib', LIBS, ids=lambda m: m.__name__)
def test_optimizer_step_between_forward_and_backward_is_caught(lib):
    w = lib.nn.Parameter(lib.ones(3))
    opt = lib.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    y = (w * w).sum()
    opt.step()                                     # updates w in place
    assert w._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
