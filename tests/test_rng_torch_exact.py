"""After manual_seed, the CPU random functions draw torch's CPU streams (mt19937 + torch's transforms)."""
import numpy as np
import pytest

import minitensor as mt

torch = pytest.importorskip('torch')

SEEDS = [0, 1337, 2147483647, 2 ** 40 + 3]
SHAPES = [(0,), (1,), (7,), (15,), (16,), (17,), (33,), (27, 27), (1000,)]
DTYPES = [(torch.float32, mt.float32), (torch.float64, mt.float64)]


def pair(seed):
    return torch.Generator().manual_seed(seed), mt.Generator().manual_seed(seed)


def max_ulp(a, b):
    """Largest difference in units of the last place of a's own dtype."""
    if a.size == 0:
        return 0
    return float((np.abs(a.astype(np.float64) - b.astype(np.float64)) / np.spacing(np.abs(a))).max())


@pytest.mark.parametrize('seed', SEEDS)
def test_rand_randint_randperm_exact(seed):
    g, G = pair(seed)
    for shape in SHAPES:
        for tdt, mdt in DTYPES:
            np.testing.assert_array_equal(torch.rand(shape, generator=g, dtype=tdt).numpy(),
                                          mt.rand(shape, generator=G, dtype=mdt).numpy())
        for lo, hi in [(0, 27), (-5, 1000), (0, 2 ** 28 - 1), (0, 2 ** 28), (0, 2 ** 31), (3, 2 ** 40)]:
            np.testing.assert_array_equal(torch.randint(lo, hi, shape, generator=g).numpy(),
                                          mt.randint(lo, hi, shape, generator=G).numpy())
    for n in [0, 1, 2, 10, 1000]:
        np.testing.assert_array_equal(torch.randperm(n, generator=g).numpy(), mt.randperm(n, generator=G).numpy())


@pytest.mark.parametrize('seed', SEEDS)
def test_randn_matches(seed):
    """< 16 elements: double Box-Muller with the cached second sample; >= 16: uniforms
    first, Box-Muller in blocks of 16 (float32 through avx_mathfun's polynomials)."""
    g, G = pair(seed)
    for shape in SHAPES:
        for tdt, mdt in DTYPES:
            a = torch.randn(shape, generator=g, dtype=tdt).numpy()
            b = mt.randn(shape, generator=G, dtype=mdt).numpy()
            assert a.shape == b.shape and b.dtype == a.dtype
            np.testing.assert_array_equal(a, b)
    # the stream position after all of these is torch's
    np.testing.assert_array_equal(torch.randint(0, 10 ** 6, (5,), generator=g).numpy(),
                                  mt.randint(0, 10 ** 6, (5,), generator=G).numpy())


def test_scalar_normal_cache_carries_across_calls():
    g, G = pair(7)
    for _ in range(3):                       # odd counts leave torch's cached sample behind
        np.testing.assert_array_equal(torch.randn(1, generator=g).numpy(), mt.randn(1, generator=G).numpy())
        np.testing.assert_array_equal(torch.randn(3, generator=g, dtype=torch.float64).numpy(),
                                      mt.randn(3, generator=G, dtype=mt.float64).numpy())


@pytest.mark.parametrize('seed', SEEDS)
def test_multinomial_exact(seed):
    g, G = pair(seed)
    w = np.random.default_rng(seed).random((4, 27)) ** 3
    w[1, 3] = 0.0
    for tdt, mdt in DTYPES:
        for shape in [(27,), (4, 27)]:
            p = w[0] if shape == (27,) else w
            for n, rep in [(1, True), (1, False), (5, False), (20, True), (26, False)]:
                a = torch.multinomial(torch.tensor(p, dtype=tdt), n, rep, generator=g).numpy()
                b = mt.multinomial(mt.tensor(p, dtype=mdt), n, rep, generator=G).numpy()
                np.testing.assert_array_equal(a, b)


def test_interleaved_default_generator():
    torch.manual_seed(1337)
    mt.manual_seed(1337)
    p = np.array([0.1, 0.5, 0.2, 0.2])
    for _ in range(2):
        np.testing.assert_array_equal(torch.randn(20).numpy(), mt.randn(20).numpy())
        np.testing.assert_array_equal(torch.randint(0, 1000, (32,)).numpy(), mt.randint(0, 1000, (32,)).numpy())
        np.testing.assert_array_equal(torch.multinomial(torch.tensor(p), 3, True).numpy(),
                                      mt.multinomial(mt.tensor(p), 3, True).numpy())
        np.testing.assert_array_equal(torch.randn(5).numpy(), mt.randn(5).numpy())
        np.testing.assert_array_equal(torch.rand(9).numpy(), mt.rand(9).numpy())


def test_inplace_and_init_fills():
    g, G = pair(3)
    for n in [5, 1000]:
        for tdt, mdt in DTYPES:
            np.testing.assert_array_equal(torch.empty(n, dtype=tdt).uniform_(-0.3, 0.7, generator=g).numpy(),
                                          mt.empty(n, dtype=mdt).uniform_(-0.3, 0.7, generator=G).numpy())
            a = torch.empty(n, dtype=tdt).normal_(0.5, 0.02, generator=g).numpy()
            b = mt.empty(n, dtype=mdt).normal_(0.5, 0.02, generator=G).numpy()
            np.testing.assert_array_equal(a, b)
    torch.manual_seed(1)
    mt.manual_seed(1)
    w = torch.empty(30, 20)
    torch.nn.init.normal_(w, 0.0, 0.02)
    v = mt.empty(30, 20)
    mt.nn.init.normal_(v, 0.0, 0.02)
    np.testing.assert_array_equal(w.numpy(), v.numpy())


def test_state_roundtrip_and_seed_reduction():
    G = mt.Generator().manual_seed(5)
    mt.randn(3, generator=G)                 # leaves a cached normal behind
    state = G.get_state()
    x = mt.randn(21, generator=G).numpy()
    np.testing.assert_array_equal(x, mt.randn(21, generator=G.set_state(state)).numpy())
    assert G.initial_seed() == 5
    assert torch.Generator().initial_seed() == mt.Generator().initial_seed()
    np.testing.assert_array_equal(torch.rand(4, generator=torch.Generator()).numpy(),
                                  mt.rand(4, generator=mt.Generator()).numpy())


def test_makemore_lecture_numbers():
    g, G = pair(2147483647)
    a = torch.randn((27, 27), generator=g)
    b = mt.randn((27, 27), generator=G)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    # makemore part 1: p = torch.rand(3, generator=g); p /= p.sum(); torch.multinomial(p, 100, True, generator=g)
    g, G = pair(2147483647)
    p = torch.rand(3, generator=g)
    q = mt.rand(3, generator=G)
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    p, q = p / p.sum(), q / q.sum()
    np.testing.assert_array_equal(np.round(q.numpy(), 4), np.float32([0.6064, 0.3033, 0.0903]))
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    a = torch.multinomial(p, num_samples=100, replacement=True, generator=g).numpy()
    b = mt.multinomial(q, num_samples=100, replacement=True, generator=G).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(b[:10], [1, 1, 2, 0, 0, 2, 1, 1, 0, 0])


def test_large_float64_randn_within_two_ulp():
    """Past EXACT_F64_LIMIT elements float64 uses NumPy's log/sin/cos, not libm's: a few elements
    differ in the last bits; the stream position is still torch's."""
    g, G = pair(11)
    n = (1 << 16) + 48
    a = torch.randn(n, generator=g, dtype=torch.float64).numpy()
    b = mt.randn(n, generator=G, dtype=mt.float64).numpy()
    assert max_ulp(a, b) <= 2
    np.testing.assert_array_equal(torch.randint(0, 99, (4,), generator=g).numpy(), mt.randint(0, 99, (4,), generator=G).numpy())


def test_dropout_mask_is_torchs():
    torch.manual_seed(5)
    mt.manual_seed(5)
    x = np.random.default_rng(0).standard_normal((8, 33)).astype(np.float32)
    for p in [0.1, 0.5]:
        a = torch.nn.functional.dropout(torch.tensor(x), p, training=True).numpy()
        b = mt.nn.functional.dropout(mt.tensor(x), p, training=True).numpy()
        np.testing.assert_array_equal(a, b)


def test_bernoulli_exact():
    g, G = pair(9)
    probs = np.random.default_rng(1).random((5, 40))
    for tdt, mdt in DTYPES:
        a = torch.bernoulli(torch.tensor(probs, dtype=tdt), generator=g).numpy()
        b = mt.bernoulli(mt.tensor(probs, dtype=mdt), generator=G).numpy()
        assert b.dtype == a.dtype
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(torch.bernoulli(torch.zeros(50, dtype=tdt), 0.3, generator=g).numpy(),
                                      mt.bernoulli(mt.zeros(50, dtype=mdt), 0.3, generator=G).numpy())
