"""repr/str/format of tensors, shapes and dtypes as torch prints them (torch is the
oracle where importable: the same numbers give the same text, `torch.` read as
`minitensor.`)."""
import re
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
from strategies import FAST


def one_line_suffixes(text):
    """`minitensor.` is longer than `torch.`, so a suffix may wrap in one and not the
    other: compare with every suffix on the last line."""
    return re.sub(r',\n +(dtype=|size=|requires_grad=|grad_fn=|device=)', r', \1', text)


def torch_repr(array):
    torch = pytest.importorskip('torch')
    text = repr(torch.from_numpy(np.array(array, copy=True))).replace('torch.', 'minitensor.')
    return one_line_suffixes(text)


def ours(array):
    return one_line_suffixes(repr(mt.tensor(array, dtype=array.dtype)))


FIXED = [
    np.array([1.0, 2.5], np.float32), np.array([1.0, 2.0], np.float32), np.array(1.5, np.float32),
    np.array([0.1234567, -2.0], np.float32), np.array([1e-5, 1.0], np.float32),
    np.array([1e10, 1.0]), np.array([1e9, 1.0], np.float32), np.array([0.0, np.nan], np.float32),
    np.array([np.inf, -np.inf, 1.0], np.float32), np.array([np.nan, 0.5]), np.array([-0.0, 1.0]),
    np.array([1, 2, -300]), np.array([True]), np.array([True, False]), np.array(7),
    np.array(np.nan), np.array(3.0), np.array([[1, 2], [3, 4]], np.int32),
    np.ones((2, 3, 4), np.float32), np.zeros((2, 1, 2, 2)), np.array([1.5, 2.25], np.float16),
    np.arange(100, dtype=np.float32) / 7, np.arange(40) * 1000,             # wrapped lines
    np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros((0, 3), np.float32),
    np.zeros((2, 0), np.float64), np.zeros((0,), bool),
    np.arange(2000, dtype=np.float32).reshape(40, 50) / 3,                 # summarised
    np.arange(6) * 1000.5, np.arange(7) * 1000.5,                          # suffix wraps
    np.arange(1001), np.linspace(-1, 1, 3000).reshape(10, 3, 100),
    (np.arange(5000) % 2 == 0).reshape(50, 100),
]


@pytest.mark.parametrize('array', FIXED, ids=lambda a: f"{a.dtype}{a.shape}")
def test_repr_matches_torch(array):
    assert ours(array) == torch_repr(array)


@st.composite
def arrays(draw):
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=4)))
    if draw(st.integers(0, 5)) == 0:
        shape = (draw(st.integers(7, 40)), draw(st.integers(30, 60)))       # > 1000: summarised
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    kind = draw(st.sampled_from(['float32', 'float64', 'whole', 'int64', 'bool', 'float16']))
    if kind == 'int64':
        return rng.integers(-10 ** draw(st.integers(0, 12)), 10 ** 4, size=shape)
    if kind == 'bool':
        return rng.random(shape) < 0.5
    scale = 10.0 ** draw(st.integers(-7, 10))
    a = rng.standard_normal(shape) * scale
    if kind == 'whole':
        a = np.round(a)
    if a.size and draw(st.booleans()):                 # non-finite entries, any of them
        flat = a.reshape(-1)
        flat[rng.integers(0, a.size, size=2)] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    dtype = {'float32': np.float32, 'whole': np.float32, 'float64': np.float64,
             'float16': np.float16}[kind]
    return a.astype(dtype) if kind != 'float16' or scale < 1e4 else a.astype(np.float32)


@FAST
@given(arrays())
def test_repr_of_random_tensors_matches_torch(array):
    assert ours(array) == torch_repr(array)


def test_suffixes_like_torch():
    assert repr(mt.ones(2, requires_grad=True)) == 'tensor([1., 1.], requires_grad=True)'
    assert repr(mt.ones(1, requires_grad=True) * 2) == 'tensor([2.], grad_fn=<MulBackward>)'
    assert repr(mt.ones(2, dtype=mt.float64, requires_grad=True)) == \
        'tensor([1., 1.], dtype=minitensor.float64, requires_grad=True)'
    wide = repr(mt.arange(6, dtype=mt.float64) * 1000.5)   # a suffix past 80 columns wraps
    assert wide.endswith('5002.5000],\n       dtype=minitensor.float64)'), wide
    assert repr(mt.nn.Parameter(mt.ones(2))) == 'Parameter containing:\ntensor([1., 1.], requires_grad=True)'


def test_set_printoptions_like_torch():
    torch = pytest.importorskip('torch')
    a = np.array([1.123456789, 200.5])
    try:
        for kw in ({'precision': 2}, {'sci_mode': True}, {'threshold': 5, 'edgeitems': 1},
                   {'linewidth': 30}, {'profile': 'short'}):
            torch.set_printoptions(**kw)
            mt.set_printoptions(**kw)
            for arr in (a, np.arange(12.0) / 3):
                assert ours(arr) == torch_repr(arr), kw
            torch.set_printoptions(profile='default')
            mt.set_printoptions(profile='default')
    finally:
        torch.set_printoptions(profile='default')
        mt.set_printoptions(profile='default')


def test_large_tensors_print_in_milliseconds():
    x = mt.zeros(228146, 100)
    start = time.perf_counter()
    text = repr(x)
    assert time.perf_counter() - start < 0.1
    assert text.count('\n') == 6 and '...' in text


def test_format_and_str():
    loss = mt.tensor(2.345678, dtype=mt.float64)
    assert f'{loss}' == '2.345678' and f'{mt.tensor(0.5)}' == '0.5'   # the number, as torch
    assert f'{loss:.4f}' == '2.3457' and f'{mt.tensor(3):>4}' == '   3'
    assert f'{mt.ones(2)}' == str(mt.ones(2)) == repr(mt.ones(2))
    with pytest.raises(TypeError, match="only a 0-d tensor formats as a number"):
        f'{mt.ones(1):.2f}'                                 # torch raises here too


def test_format_matches_torch():
    torch = pytest.importorskip('torch')
    for v in (2.345678, 1e-9, 3.0):
        assert f'{mt.tensor(v)}' == f'{torch.tensor(v)}'
        assert f'{mt.tensor(v):.4f}' == f'{torch.tensor(v):.4f}'


def test_size_like_torch_size():
    x = mt.zeros(2, 3)
    assert repr(x.shape) == str(x.shape) == 'minitensor.Size([2, 3])'
    assert repr(mt.tensor(1.0).shape) == 'minitensor.Size([])'
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(-1) == 3
    assert isinstance(x.shape, tuple) and isinstance(x.shape, mt.Size)
    assert x.shape.numel() == 6 and mt.Size([4, 5]).numel() == 20
    assert isinstance(x.shape[1:], mt.Size) and x.shape[1:] == (3,)
    assert isinstance(x.shape + (4,), mt.Size) and (1,) + x.shape == (1, 2, 3)
    assert mt.zeros(x.shape).shape == (2, 3) and x.view(x.shape[::-1]).shape == (3, 2)
    assert f"{x.shape}" == "(2, 3)"          # error messages read (2, 3)


def test_dtype_like_torch_dtype():
    x = mt.zeros(2)
    assert repr(x.dtype) == str(x.dtype) == 'minitensor.float32'
    assert x.dtype == mt.float32 and x.dtype == np.float32 and x.dtype == 'float32'
    assert x.dtype is mt.float32 and x.dtype != mt.float64 and mt.float == mt.float32
    assert x.dtype.is_floating_point and not mt.int64.is_floating_point
    assert x.dtype.itemsize == 4 and mt.float64.itemsize == 8 and x.element_size() == 4
    assert mt.int64.is_signed and not mt.bool.is_signed
    assert x.is_floating_point() and mt.is_floating_point(x) and not mt.arange(3).is_floating_point()
    assert isinstance(x.dtype, mt.dtype) and {mt.float32: 1}[x.dtype] == 1
    # NumPy takes it wherever it takes a dtype
    assert np.zeros(2, dtype=mt.float64).dtype == np.float64
    assert np.arange(3).astype(mt.float16).dtype == np.float16
    assert x.to(mt.float64).dtype == mt.float64 and x.to(np.float64).dtype == mt.float64
    assert mt.zeros(2, dtype=mt.int32).dtype == mt.int32 and str(mt.bool) == 'minitensor.bool'
    assert x.dtype.kind == 'f'                         # NumPy's attributes too
    import pickle
    assert pickle.loads(pickle.dumps(mt.float16)) is mt.float16


def test_dtype_names_match_torch():
    torch = pytest.importorskip('torch')
    for name in ('float32', 'float64', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8',
                 'bool', 'float', 'double', 'half', 'long', 'int', 'short'):
        ours_, theirs = getattr(mt, name), getattr(torch, name)
        assert repr(ours_) == repr(theirs).replace('torch.', 'minitensor.')
        assert ours_.itemsize == theirs.itemsize
        assert ours_.is_floating_point == theirs.is_floating_point
        assert ours_.is_signed == theirs.is_signed


def test_finfo_iinfo_match_torch():
    torch = pytest.importorskip('torch')
    for d in ('float16', 'float32', 'float64'):
        a, b = mt.finfo(getattr(mt, d)), torch.finfo(getattr(torch, d))
        assert (a.eps, a.max, a.min, a.tiny, a.bits) == (b.eps, b.max, b.min, b.tiny, b.bits)
    for d in ('int8', 'int32', 'int64', 'uint8'):
        a, b = mt.iinfo(getattr(mt, d)), torch.iinfo(getattr(torch, d))
        assert (a.min, a.max, a.bits) == (b.min, b.max, b.bits)
    assert mt.finfo().eps == torch.finfo().eps
    with pytest.raises(TypeError, match="floating point dtype"):
        mt.finfo(mt.int64)
