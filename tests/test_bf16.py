"""bfloat16 and float16 as dtypes: names, limits, creation, casts with gradients, torch's
promotion, printing, save/load, float32 accumulation, and the error without ml_dtypes."""
import subprocess
import sys

import numpy as np
import pytest

import minitensor as mt

ml_dtypes = pytest.importorskip('ml_dtypes')
BF16 = np.dtype(ml_dtypes.bfloat16)


def torch_or_skip():
    return pytest.importorskip('torch')


def test_dtype_names_and_attributes():
    assert repr(mt.bfloat16) == 'minitensor.bfloat16' and repr(mt.half) == 'minitensor.float16'
    assert mt.half is mt.float16 and mt.bfloat16 == BF16 and mt.bfloat16 != mt.float16
    assert mt.bfloat16.is_floating_point and mt.bfloat16.is_signed and not mt.bfloat16.is_complex
    assert mt.bfloat16.itemsize == 2 and mt.float16.itemsize == 2
    x = mt.zeros(3, dtype=mt.bfloat16)
    assert x.dtype is mt.bfloat16 and x.element_size() == 2 and x.is_floating_point()
    assert mt.is_floating_point(x) and mt.zeros(2, dtype='bfloat16').dtype is mt.bfloat16
    assert {mt.bfloat16: 1}[mt.tensor([1.0]).bfloat16().dtype] == 1


@pytest.mark.parametrize('name', ['bfloat16', 'float16'])
def test_finfo_matches_torch(name):
    torch = torch_or_skip()
    ours, theirs = mt.finfo(getattr(mt, name)), torch.finfo(getattr(torch, name))
    for field in ('bits', 'eps', 'max', 'min', 'tiny', 'smallest_normal', 'resolution'):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.dtype == theirs.dtype


def empty(L, d):
    return L.empty(4, dtype=d)


@pytest.mark.parametrize('make', [
    lambda L, d: L.zeros(2, 3, dtype=d), lambda L, d: L.ones((2, 3), dtype=d),
    lambda L, d: L.full((2,), 1.7, dtype=d), empty,
    lambda L, d: L.tensor([0.1, 1e5, -3.3], dtype=d), lambda L, d: L.arange(0, 3, 0.5, dtype=d),
    lambda L, d: L.eye(3, dtype=d), lambda L, d: L.linspace(0, 1, 5, dtype=d),
    lambda L, d: L.zeros_like(L.ones(2), dtype=d), lambda L, d: L.full_like(L.ones(2), 3.3, dtype=d),
])
@pytest.mark.parametrize('name', ['bfloat16', 'float16'])
def test_creation_in_16_bit_as_torch(make, name):
    torch = torch_or_skip()
    ours, theirs = make(mt, getattr(mt, name)), make(torch, getattr(torch, name))
    assert ours.dtype.name == name and ours.shape == tuple(theirs.shape)
    if make is not empty:
        np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())


@pytest.mark.parametrize('name', ['bfloat16', 'float16'])
def test_random_creation_and_like(name):
    d = getattr(mt, name)
    for t in (mt.randn(3, 4, dtype=d), mt.rand(5, dtype=d), mt.randn_like(mt.ones(2, dtype=d)),
              mt.empty(0, dtype=d), mt.randn(2, dtype=d, requires_grad=True)):
        assert t.dtype is d
    assert mt.randint(0, 5, (3,), dtype=d).dtype is d


def test_rounding_float32_to_bfloat16_is_torchs():
    """Round to nearest, ties to even, on random values, ties, subnormals, inf and nan."""
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2 ** 32, 4000, dtype=np.uint64).astype(np.uint32)
    values = np.concatenate([bits.view(np.float32), rng.standard_normal(1000).astype(np.float32),
                             np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1e-40, -1e-39, 3.4e38,
                                       np.inf, -np.inf, 0.0, -0.0], np.float32)])
    ours = mt.from_numpy(values).to(mt.bfloat16).numpy().view(np.uint16)
    theirs = torch.from_numpy(values).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    same = (ours == theirs) | (np.isnan(values))            # NaN payloads may differ
    assert same.all(), values[~same][:5]
    assert np.isnan(mt.from_numpy(values).to(mt.bfloat16).float().numpy()[np.isnan(values)]).all()


def test_casts_carry_gradients_back_in_the_source_dtype():
    torch = torch_or_skip()
    for lib in (mt, torch):
        x = lib.tensor([0.5, -1.25, 3.0], requires_grad=True)              # float32 leaf
        h = x.bfloat16()
        y = (h * h).sum()
        assert h.dtype == lib.bfloat16 and y.dtype == lib.bfloat16
        y.backward()
        assert x.grad.dtype == lib.float32
        np.testing.assert_array_equal(np.asarray(x.grad.tolist()), [1.0, -2.5, 6.0])
    b = mt.tensor([1.5, 2.0], dtype=mt.bfloat16, requires_grad=True)      # a bfloat16 leaf
    (b.float() * 3).sum().backward()
    assert b.grad.dtype is mt.bfloat16 and b.grad.tolist() == [3.0, 3.0]
    h = mt.tensor([1.0], requires_grad=True).half()
    assert h.dtype is mt.float16 and h.double().dtype is mt.float64 and h.to(mt.float32).dtype is mt.float32
    assert mt.ones(2).type(mt.bfloat16).dtype is mt.bfloat16


PROMOTIONS = [  # (left, right); torch says the result
    ('bfloat16', 'float32'), ('bfloat16', 'float16'), ('float16', 'bfloat16'), ('bfloat16', 'float64'),
    ('int64', 'bfloat16'), ('int32', 'float16'), ('bool', 'bfloat16'), ('uint8', 'bfloat16'),
    ('bfloat16', 'bfloat16'), ('float16', 'float32'),
]


@pytest.mark.parametrize('left,right', PROMOTIONS)
def test_promotion_as_torch(left, right):
    torch = torch_or_skip()
    a, b = mt.ones(3, dtype=getattr(mt, left)), mt.ones(3, dtype=getattr(mt, right))
    expected = (torch.ones(3, dtype=getattr(torch, left)) + torch.ones(3, dtype=getattr(torch, right))).dtype
    assert (a + b).dtype.name == str(expected).replace('torch.', '')
    assert (a * b).dtype == (b * a).dtype


def test_scalars_and_0d_tensors_keep_bfloat16():
    x = mt.ones(3, dtype=mt.bfloat16)
    assert (x * 0.5).dtype is mt.bfloat16 and (2 * x).dtype is mt.bfloat16 and (x / 3).dtype is mt.bfloat16
    assert (x + mt.tensor(2.0)).dtype is mt.bfloat16                 # 0-d float32 does not promote
    assert (x + mt.tensor(2.0, dtype=mt.float64)).dtype is mt.bfloat16
    assert (mt.ones(3, dtype=mt.int64) + mt.tensor(1.5, dtype=mt.bfloat16)).dtype is mt.bfloat16
    assert (mt.arange(3) / 2).dtype is mt.float32
    assert (x ** 2.5).dtype is mt.bfloat16 and x.exp().dtype is mt.bfloat16


@pytest.mark.parametrize('values', [[1.5, 2.25], [0.1234567, -2.0, 1e-5], [[1.0, 2.0], [3.0, 4.5]], [1e10, 1.0],
                                    [np.inf, np.nan, -1.0], 7.0, list(np.arange(40) / 7), [65504.0, 1e-3]])
@pytest.mark.parametrize('name', ['bfloat16', 'float16'])
def test_printing_as_torch(values, name):
    torch = torch_or_skip()
    ours = repr(mt.tensor(values, dtype=getattr(mt, name)))
    theirs = repr(torch.tensor(values, dtype=getattr(torch, name))).replace('torch.', 'minitensor.')
    assert ours.replace('\n', ' ').split() == theirs.replace('\n', ' ').split()
    assert str(mt.tensor(values, dtype=getattr(mt, name)).dtype) == f'minitensor.{name}'


def test_sums_accumulate_in_float32():
    """1024 bfloat16 ones sum to 1024 (a bfloat16 accumulator stops at 256); torch agrees."""
    torch = torch_or_skip()
    ones = mt.ones(1024, dtype=mt.bfloat16)
    assert ones.sum().item() == 1024.0 and ones.sum().dtype is mt.bfloat16
    assert ones.mean().item() == 1.0 and ones.cumsum(0)[-1].item() == 1024.0
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 512)).astype(np.float32)
    ours, theirs = mt.from_numpy(x).bfloat16(), torch.from_numpy(x).bfloat16()
    for f in (lambda t: t.sum(-1), lambda t: t.mean(0), lambda t: t.var(-1), lambda t: t.norm(dim=-1),
              lambda t: t.logsumexp(-1), lambda t: t.softmax(-1), lambda t: t @ t.T):
        a, b = f(ours), f(theirs)
        assert a.dtype is mt.bfloat16
        # one rounding of a float32 result on each side: at most one bfloat16 neighbour apart
        np.testing.assert_allclose(a.float().numpy(), b.float().numpy(), rtol=2 ** -7, atol=2 ** -7)


def test_float16_math():
    torch = torch_or_skip()
    x = np.linspace(-3, 3, 50, dtype=np.float32)
    for f in (lambda L, t: t.exp(), lambda L, t: t.softmax(0), lambda L, t: L.nn.functional.gelu(t),
              lambda L, t: (t * 2.5).sum(), lambda L, t: t.reshape(5, 10) @ t.reshape(10, 5)):
        a, b = f(mt, mt.from_numpy(x).half()), f(torch, torch.from_numpy(x).half())
        assert a.dtype is mt.float16
        np.testing.assert_allclose(a.float().numpy(), b.float().numpy(), rtol=2 ** -9, atol=2 ** -10)


def test_save_load_npz_and_safetensors(tmp_path):
    torch = torch_or_skip()
    x = mt.randn(3, 4).bfloat16().requires_grad_()
    sd = {'x': x, 'h': mt.randn(2).half(), 'f': mt.ones(2), 'n': mt.ones(2, dtype=mt.bfloat16).numpy()}
    mt.save(sd, tmp_path / 'a.pt')
    back = mt.load(tmp_path / 'a.pt')
    assert back['x'].dtype is mt.bfloat16 and back['x'].requires_grad and back['h'].dtype is mt.float16
    assert (back['x'] == x).all() and back['n'].dtype == BF16 and back['f'].dtype is mt.float32
    pytest.importorskip('safetensors')
    mt.save({'x': x, 'f': mt.ones(2)}, tmp_path / 'a.safetensors')
    from safetensors.torch import load_file, save_file
    theirs = load_file(tmp_path / 'a.safetensors')
    assert theirs['x'].dtype == torch.bfloat16
    np.testing.assert_array_equal(theirs['x'].float().numpy(), x.detach().float().numpy())
    save_file({'w': torch.tensor([1.5, -2.0], dtype=torch.bfloat16)}, tmp_path / 'b.safetensors')
    w = mt.load(tmp_path / 'b.safetensors')['w']
    assert w.dtype is mt.bfloat16 and w.tolist() == [1.5, -2.0]


def test_files_without_bfloat16_stay_format_version_1(tmp_path):
    import json
    import zipfile
    for obj, version in (({'a': mt.ones(2)}, 1), ({'a': mt.ones(2, dtype=mt.bfloat16)}, 2)):
        mt.save(obj, tmp_path / 'c.pt')
        with zipfile.ZipFile(tmp_path / 'c.pt') as z:
            raw = np.load(z.open('__minitensor__.npy')).tobytes()
        assert json.loads(raw)['version'] == version


def test_a_bfloat16_tag_on_a_non_uint16_array_is_refused(tmp_path):
    import json
    mt.save({'a': mt.ones(2)}, tmp_path / 'd.pt')
    with np.load(tmp_path / 'd.pt') as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays['__minitensor__'].tobytes())
    meta['root']['v'][0]['dt'] = 'bfloat16'                          # a float32 array called bfloat16
    arrays['__minitensor__'] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / 'e.npz', **arrays)
    with pytest.raises(ValueError, match="only uint16 arrays can hold 'bfloat16'"):
        mt.load(tmp_path / 'e.npz')


def test_without_ml_dtypes_bfloat16_is_a_name_with_a_clear_error():
    code = ("import sys; sys.modules['ml_dtypes'] = None\n"
            "import minitensor as mt\n"
            "assert repr(mt.bfloat16) == 'minitensor.bfloat16' and not mt.cuda.is_bf16_supported()\n"
            "assert mt.ones(2).half().dtype is mt.float16\n"
            "for make in (lambda: mt.zeros(2, dtype=mt.bfloat16), lambda: mt.ones(2).bfloat16(),\n"
            "             lambda: mt.ones(2).to('bfloat16')):\n"
            "    try:\n"
            "        make()\n"
            "    except TypeError as e:\n"
            "        assert 'pip install \"minitensor[bf16]\"' in str(e), e\n"
            "    else:\n"
            "        raise SystemExit('no error')\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == 'ok', out.stderr
