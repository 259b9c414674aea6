"""The fused attention core (F.causal_softmax / CausalSoftmax) and hash-mask dropout
(HashDropout) on their portable paths: forward against a NumPy reference, gradients
against central differences. The GPU kernels are checked against these paths in
tests/gpu/test_cuda_kernels.py."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn.functional as F
from minitensor.ops.nn import CausalSoftmax, HashDropout
from minitensor.random_hash import keep_mask
from strategies import check_op


def causal_softmax_reference(scores, scale, p=0.0, seed=0):
    """The lecture's chain in NumPy: scale, mask the future with -inf, softmax, dropout."""
    t = scores.shape[-1]
    x = np.where(np.triu(np.ones((t, t), dtype=bool), k=1), -np.inf, scores * scale)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    if p:
        probs = probs * keep_mask(np, scores.shape, seed, p) / (1 - p)
    return probs


@pytest.mark.parametrize('shape', [(1, 1), (5, 5), (2, 3, 4, 4)])
@pytest.mark.parametrize('p', [0.0, 0.3])
def test_causal_softmax_matches_the_lectures_chain_and_gradchecks(shape, p):
    scores = np.random.default_rng(0).normal(size=shape)
    seed = 1234
    check_op(lambda s: CausalSoftmax.apply(s, scale=0.7, dropout_p=p, seed=seed),
             lambda s: causal_softmax_reference(s, 0.7, p, seed), [scores])


def test_functional_causal_softmax_equals_masked_fill_softmax_without_dropout():
    mt.manual_seed(0)
    q, k = mt.randn(2, 3, 6, 4), mt.randn(2, 3, 6, 4)
    scores = q @ k.transpose(-2, -1)                                     # (2, 3, 6, 6)
    tril = mt.tril(mt.ones(6, 6))
    lecture = F.softmax((scores * 0.5).masked_fill(tril == 0, float('-inf')), dim=-1)
    np.testing.assert_allclose(F.causal_softmax(scores, 0.5, 0.2, training=False).numpy(),
                               lecture.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(F.causal_softmax(scores, 0.5, 0.0).numpy(), lecture.numpy(),
                               rtol=1e-6, atol=1e-7)


def test_causal_softmax_dropout_zeroes_about_p_and_keeps_rows_unbiased():
    mt.manual_seed(0)
    out = F.causal_softmax(mt.zeros(64, 32, 32), 1.0, 0.25).numpy()     # (64, 32, 32)
    lower = np.tril(np.ones((32, 32), dtype=bool))
    assert abs((out[:, lower] == 0).mean() - 0.25) < 0.01
    # each kept probability is scaled by 1/(1-p), so a row sums to 1 on average
    assert abs(out.sum(axis=-1).mean() - 1.0) < 0.01
    assert not out[:, ~lower].any()                                      # the future stays 0


def test_causal_softmax_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"expected square \(\.\.\., T, T\) scores, got shape \(2, 3\)"):
        F.causal_softmax(mt.zeros(2, 3))
    with pytest.raises(ValueError, match=r"dropout probability must be in \[0, 1\), got 1.0"):
        F.causal_softmax(mt.zeros(3, 3), dropout_p=1.0)


@pytest.mark.parametrize('shape', [(7,), (3, 5), (2, 2, 3)])
def test_hash_dropout_is_a_fixed_mask_per_seed_and_gradchecks(shape):
    x = np.random.default_rng(1).normal(size=shape)
    seed, p = 99, 0.4
    check_op(lambda t: HashDropout.apply(t, p=p, seed=seed),
             lambda a: a * keep_mask(np, a.shape, seed, p) / (1 - p), [x])


def test_hash_dropout_masks_differ_between_seeds_and_drop_about_p():
    a = keep_mask(np, (100_000,), 1, 0.2)
    b = keep_mask(np, (100_000,), 2, 0.2)
    assert abs((~a).mean() - 0.2) < 0.005 and abs((~b).mean() - 0.2) < 0.005
    assert abs((a != b).mean() - 2 * 0.2 * 0.8) < 0.01                  # independent masks


def test_next_seed_is_random64_of_the_cpu_stream():
    """The fast raw-word read draws what random64 draws, and advances the stream alike."""
    from minitensor import random as mt_random
    from minitensor.random_hash import next_seed
    gen = mt.Generator().manual_seed(123)
    fast = [next_seed(gen) for _ in range(4)] + [int(gen.random32(1)[0])]
    gen = mt.Generator().manual_seed(123)
    slow = [int(mt_random.resolve(gen).random64(1)[0] >> np.uint64(1)) for _ in range(4)]
    assert fast[:4] == slow and fast[4] == int(gen.random32(1)[0])
