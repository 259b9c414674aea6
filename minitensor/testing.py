"""torch.testing's assert_close (and the older assert_allclose): tensors, numbers or nested
sequences/dicts of them compared with torch's default tolerances per dtype."""
import numpy as np

from .tensor import Tensor

# (rtol, atol) by dtype, torch's defaults
_TOLERANCES = {'float16': (1e-3, 1e-5), 'bfloat16': (1.6e-2, 1e-5), 'float32': (1.3e-6, 1e-5),
               'float64': (1e-7, 1e-7)}


def _as_array(x):
    if isinstance(x, Tensor):
        return x.detach().numpy(), x
    return np.asarray(x), None


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless actual and expected match in shape (and dtype and device,
    when both are tensors and check_dtype/check_device) and |a - e| <= atol + rtol |e|."""
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: both rtol and atol must be given, or neither")
    if isinstance(expected, (list, tuple)) and not isinstance(actual, Tensor):
        if len(actual) != len(expected):
            raise AssertionError(msg or f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device,
                         check_dtype=check_dtype, msg=msg)
        return
    if isinstance(expected, dict):
        if set(actual) != set(expected):
            raise AssertionError(msg or f"The keys of the mappings do not match: {set(actual) ^ set(expected)}")
        for k in expected:
            assert_close(actual[k], expected[k], rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_device=check_device, check_dtype=check_dtype, msg=msg)
        return
    a, ta = _as_array(actual)
    e, te = _as_array(expected)
    if ta is not None and te is not None:
        if check_dtype and ta.dtype != te.dtype:
            raise AssertionError(msg or f"The values for attribute 'dtype' do not match: {ta.dtype} != {te.dtype}.")
        if check_device and ta.device != te.device:
            raise AssertionError(msg or f"The values for attribute 'device' do not match: {ta.device} != {te.device}.")
    if a.shape != e.shape:
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: {a.shape} != {e.shape}.")
    if rtol is None:
        kind = str(e.dtype) if e.dtype.kind == 'f' else str(a.dtype)
        rtol, atol = _TOLERANCES.get(kind, (0.0, 0.0))
    if a.dtype.kind in 'biu' and e.dtype.kind in 'biu':
        bad = a != e
    else:
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        with np.errstate(invalid='ignore'):
            bad = ~np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if bad.any():
        n, total = int(bad.sum()), bad.size
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        detail = (f"Tensor-likes are not close!\n\nMismatched elements: {n} / {total} "
                  f"({100 * n / total:.1f}%)\nFirst mismatch at index {where}: {a[where]} vs {e[where]} "
                  f"(rtol={rtol}, atol={atol})")
        raise AssertionError(msg or detail)


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=''):
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False,
                 check_device=False, msg=msg or None)
