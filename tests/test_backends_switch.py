"""mt.backends.fast_paths, the one switch for every GPU fast path, checked on the CPU.

A stand-in GPU: cuda.fusable is made to accept NumPy float32 arrays and the fused
kernels are replaced by recording fakes that compute the portable result. Then each
Function's choice can be watched: taken when the switch is on, never when it is off,
and backward follows the choice forward recorded even if the switch flips in between.
The real kernels are compared with the portable paths in tests/gpu/.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn.functional as F
from minitensor import cuda
from minitensor.cuda import blas
from minitensor.ops import dispatch
from minitensor.random_hash import keep_mask_from_keys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def fake_gpu(monkeypatch):
    """NumPy arrays count as GPU arrays for cuda.fusable; kernels record their calls."""
    mt.backends.fast_paths = True                        # also under --no-fast-paths
    calls = []
    monkeypatch.setattr(cuda, 'is_gpu', lambda a: True)

    def relu_forward(a):
        calls.append('relu_forward')
        return np.maximum(a, 0)

    def relu_backward(g, y):
        calls.append('relu_backward')
        return g * (y > 0)

    def hash_dropout(x, p, keys):
        calls.append('hash_dropout')
        return x * keep_mask_from_keys(np, x.shape, keys) / x.dtype.type(1 - p)

    def causal_softmax_forward(scores, scale, p, keys):
        calls.append('causal_softmax_forward')
        t = scores.shape[-1]
        x = np.where(np.triu(np.ones((t, t), bool), 1), -np.inf, scores * scale)
        e = np.exp(x - x.max(-1, keepdims=True))
        probs = (e / e.sum(-1, keepdims=True)).astype(scores.dtype)
        return probs, (probs * keep_mask_from_keys(np, probs.shape, keys) / (1 - p) if p else probs)

    def causal_softmax_backward(g, probs, scale, p, keys):
        calls.append('causal_softmax_backward')
        pdp = probs * g
        return (pdp - probs * pdp.sum(-1, keepdims=True)) * scale

    for name, fn in [('relu_forward', relu_forward), ('relu_backward', relu_backward),
                     ('hash_dropout', hash_dropout), ('causal_softmax_forward', causal_softmax_forward),
                     ('causal_softmax_backward', causal_softmax_backward)]:
        monkeypatch.setattr(cuda, name, fn)
    return calls


@pytest.mark.parametrize('no_fused,expected', [(None, 'True'), ('1', 'False')])
def test_switch_defaults_on_and_the_env_var_starts_it_off(no_fused, expected):
    code = "import minitensor as mt; print(mt.backends.fast_paths, mt.cuda.enabled)"
    env = {k: v for k, v in os.environ.items() if k != 'MINITENSOR_NO_FUSED'}
    env.update({'PYTHONPATH': ROOT}, **({'MINITENSOR_NO_FUSED': no_fused} if no_fused else {}))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.stdout.split() == [expected, expected], out.stderr


def test_the_old_name_cuda_enabled_is_the_same_switch():
    mt.cuda.enabled = False
    assert mt.backends.fast_paths is False
    mt.backends.fast_paths = True
    assert mt.cuda.enabled is True


def test_fusable_reads_the_switch(fake_gpu):
    a = np.zeros(3, np.float32)
    assert cuda.fusable(a)
    assert not cuda.fusable(a.astype(np.float64))        # fast paths are float32 only
    mt.backends.fast_paths = False
    assert not cuda.fusable(a)


def test_relu_records_its_choice_and_backward_follows_the_record(fake_gpu):
    x = mt.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    y = x.relu()
    assert y.grad_fn.fused is True and fake_gpu == ['relu_forward']
    mt.backends.fast_paths = False                       # flipped between forward and backward
    y.sum().backward()
    assert fake_gpu == ['relu_forward', 'relu_backward']
    assert x.grad.tolist() == [0.0, 1.0, 1.0]
    z = x.relu()                                         # off: the portable path, recorded
    assert z.grad_fn.fused is False
    mt.backends.fast_paths = True
    z.sum().backward()
    assert fake_gpu == ['relu_forward', 'relu_backward']  # no kernel for the portable node


def test_dropout_picks_hash_dropout_only_with_the_switch_on(fake_gpu):
    x = mt.ones(4, 8, requires_grad=True)
    y = F.dropout(x, 0.5)
    assert y.grad_fn.name == 'HashDropout' and y.grad_fn.fused is True
    y.sum().backward()
    assert fake_gpu == ['hash_dropout', 'hash_dropout']  # the same mask recomputed in backward
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())
    mt.backends.fast_paths = False
    assert F.dropout(x, 0.5).grad_fn.name == 'Dropout'
    assert fake_gpu == ['hash_dropout', 'hash_dropout']


def test_sdpa_picks_the_fused_causal_kernel_only_where_it_applies(fake_gpu, monkeypatch):
    monkeypatch.setattr(dispatch, 'ATTENTION_KERNEL', 'causal_softmax')   # flash: test_flash_emulation.py
    mt.manual_seed(0)
    q, k, v = (mt.randn(2, 5, 4, requires_grad=True) for _ in range(3))
    fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert fake_gpu == ['causal_softmax_forward']
    assert fused.grad_fn.name == 'MatMul' and fused.grad_fn.fused is True
    fused.sum().backward()
    assert fake_gpu == ['causal_softmax_forward', 'causal_softmax_backward']
    grads = [t.grad.numpy().copy() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    del fake_gpu[:]
    # not the fused case: a mask, L != S, or float64: the lecture's chain, no kernel
    F.scaled_dot_product_attention(q, k, v, attn_mask=mt.ones(5, 5).bool())
    F.scaled_dot_product_attention(q, k[:, :3], v[:, :3], is_causal=True)
    F.scaled_dot_product_attention(q.double(), k.double(), v.double(), is_causal=True)
    assert fake_gpu == []
    mt.backends.fast_paths = False
    portable = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert fake_gpu == [] and portable.grad_fn.fused is False
    np.testing.assert_allclose(portable.detach().numpy(), fused.detach().numpy(), rtol=1e-5, atol=1e-6)
    portable.sum().backward()
    for t, g in zip((q, k, v), grads):
        np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-5, atol=1e-6)


def test_matmul_and_linear_record_the_cublas_choice(fake_gpu):
    a, b = mt.randn(2, 3, 4, requires_grad=True), mt.randn(2, 4, 5, requires_grad=True)
    assert (a @ b).grad_fn.fused is True
    assert F.linear(a, mt.randn(6, 4), mt.randn(6)).grad_fn.fused is True
    mt.backends.fast_paths = False
    assert (a @ b).grad_fn.fused is False
    assert F.linear(a, mt.randn(6, 4), mt.randn(6)).grad_fn.fused is False


def test_blas_helpers_are_plain_xp_off_the_fast_path():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(blas.sum_leading(a, 2, False), a.sum((0, 1)))
    np.testing.assert_array_equal(blas.sum_leading(a, 1), a.sum(0))
    np.testing.assert_array_equal(blas.matmul(a, a.swapaxes(-1, -2), True), a @ a.swapaxes(-1, -2))
