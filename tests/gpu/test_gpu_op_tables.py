"""Every op of the differential tables (tests/test_*torch_diff*.py) on the GPU: the same
inputs on both devices give the same outputs and gradients (float64, so only summation
order and the last bits of the special functions may differ). Skipped where CuPy or a
GPU is missing; the tables themselves skip without torch (they are checked against it
on the CPU)."""
import glob
import importlib
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitensor as mt

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")
torch_diff = pytest.importorskip('torch_diff')      # needs torch: the tables live beside it


def collect_tables():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ops = {}
    for path in sorted(glob.glob(os.path.join(here, 'test_*torch_diff*.py'))):
        module = importlib.import_module(os.path.basename(path)[:-3])
        for value in vars(module).values():
            if isinstance(value, list) and value and all(isinstance(v, torch_diff.Op) for v in value):
                for op in value:
                    ops.setdefault(f'{module.__name__[5:]}:{op.name}', op)
    return ops


OPS = collect_tables()
GPU = 'gpu'


class _OnGPU:
    """minitensor, with the tensor-making functions a table entry may call inline (index
    tensors, masks, arange, eye, ...) making them on the GPU, so the whole entry runs there."""
    MAKERS = ('tensor', 'arange', 'eye', 'full', 'linspace', 'logspace', 'zeros', 'ones', 'empty',
              'tril_indices', 'triu_indices', 'as_tensor')

    def __getattr__(self, name):
        value = getattr(mt, name)
        if name in self.MAKERS:
            return lambda *args, **kwargs: value(*args, **{'device': 'gpu', **kwargs})
        return value


GPU_LIB = _OnGPU()


def _on(device, arrays, grads):
    ts = [mt.tensor(a, device=device) for a in arrays]
    for t in ts:
        if grads and t.dtype.kind == 'f':
            t.requires_grad_(True)
    return ts


def _run(op, ts, lib=mt):
    out = op.fn(lib, *ts)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _close(name, what, gpu, cpu):
    g = gpu.detach().cpu().numpy() if isinstance(gpu, mt.Tensor) else np.asarray(gpu)
    c = cpu.detach().numpy() if isinstance(cpu, mt.Tensor) else np.asarray(cpu)
    assert g.shape == c.shape, f"{name}: {what} shape {g.shape} on the GPU vs {c.shape} on the CPU"
    if c.dtype.kind in 'biu':
        np.testing.assert_array_equal(g, c, err_msg=f"{name}: {what}")
    else:                                       # a few ulp of the result's precision
        rtol, atol = (1e-7, 1e-9) if c.dtype == np.float64 else (2e-6, 1e-6)
        np.testing.assert_allclose(g, c, rtol=rtol, atol=atol, equal_nan=True, err_msg=f"{name}: {what}")


@pytest.mark.parametrize('name', sorted(OPS))
@settings(max_examples=5, deadline=None, derandomize=True)
@given(data=st.data(), seed=st.integers(0, 2 ** 32 - 1),
       layout=st.sampled_from(['contiguous', 'transposed', 'sliced']))
def test_gpu_matches_cpu(name, data, seed, layout):
    op = OPS[name]
    shapes = data.draw(op.shapes, label='shapes')
    rng = np.random.default_rng(seed)
    with np.errstate(all='ignore'):
        arrays = [torch_diff._layout(torch_diff._values(rng, s, d, dom, op.kinks, False), layout)
                  for s, d, dom in zip(shapes, op.dtypes, op.domain)]
    grads = op.grad and any(d.startswith('float') for d in op.dtypes)
    cpu_in, gpu_in = _on('cpu', arrays, grads), _on(GPU, arrays, grads)
    try:
        cpu_out = _run(op, cpu_in)
    except Exception as e:                      # the CPU refuses: the GPU must refuse alike,
        if type(e).__name__ == 'IndexOutOfRangeError':   # except for index bounds, which the
            return                              # GPU does not check (a check would synchronize; README)
        with pytest.raises(type(e)):
            _run(op, gpu_in, GPU_LIB)
        return
    gpu_out = _run(op, gpu_in, GPU_LIB)
    assert len(gpu_out) == len(cpu_out)
    for i, (g, c) in enumerate(zip(gpu_out, cpu_out)):
        if isinstance(c, mt.Tensor):
            assert isinstance(g, mt.Tensor) and g.device == GPU, f"{name}: output {i} left the GPU"
            assert g.dtype == c.dtype, f"{name}: output {i} dtype {g.dtype} vs {c.dtype}"
        _close(name, f'output {i}', g, c)
    pairs = [(g, c) for g, c in zip(gpu_out, cpu_out) if isinstance(c, mt.Tensor) and c.requires_grad]
    if not grads or not pairs:
        return
    seeds = [rng.standard_normal(c.shape) for _, c in pairs]
    for side, device in ((0, GPU), (1, 'cpu')):          # the same upstream gradient on both
        outs = [pair[side] for pair in pairs]
        sum(((t * mt.tensor(s, dtype=t.dtype, device=device)).sum() for t, s in zip(outs, seeds)),
            start=mt.zeros((), dtype=outs[0].dtype, device=device)).backward()
    for i, (g, c) in enumerate(zip(gpu_in, cpu_in)):
        if c.requires_grad and c.grad is not None:
            assert g.grad is not None, f"{name}: no gradient for input {i} on the GPU"
            _close(name, f'gradient of input {i}', g.grad, c.grad)
