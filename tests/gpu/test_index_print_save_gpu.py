"""Indexing, printing, softmax's non-finite rows and mt.save/mt.load on GPU tensors:
the same results as on the CPU. Skips without CuPy or a GPU."""
import numpy as np
import pytest

import minitensor as mt

pytestmark = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")


def test_torch_layout_indexing_and_gradient_on_the_gpu():
    a = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    for index in [(0, slice(None), [0, 3, 3]), (slice(None), 1, slice(None), [-1, 0]),
                  ([1, 0], None, [2, 1]), (True, 1), np.array([[True, False, True], [False, True, True]])]:
        cpu = mt.tensor(a, requires_grad=True)
        gpu = mt.tensor(a, device='gpu', requires_grad=True)
        y_cpu, y_gpu = cpu[index], gpu[index]
        np.testing.assert_array_equal(y_gpu.cpu().detach().numpy(), y_cpu.detach().numpy())
        y_cpu.sum().backward()
        y_gpu.sum().backward()
        np.testing.assert_array_equal(gpu.grad.cpu().numpy(), cpu.grad.numpy())


def test_repr_of_a_large_gpu_tensor_is_the_cpu_one_plus_the_device():
    x = mt.randn(2000, 300)
    text, cpu = repr(x.to('gpu')), repr(x)
    # the suffix goes on the last line, or on a line of its own where it would pass 80
    # columns (torch's rule): the CPU text's last line is a full row of numbers here
    last_line = cpu[:-1].rsplit('\n', 1)[-1]
    joint = ', ' if len(last_line) + len(", device='gpu'") + 1 <= 80 else ',\n       '
    assert text == cpu[:-1] + joint + "device='gpu')"


def test_softmax_nonfinite_rows_on_the_gpu():
    x = mt.tensor([[float('nan'), 0.0, 1.0], [float('inf'), 0.0, 1.0],
                   [float('-inf')] * 3, [float('-inf'), 0.0, 1.0]])
    for fn in ('softmax', 'log_softmax'):
        cpu, gpu = getattr(x, fn)(-1).numpy(), getattr(x.to('gpu'), fn)(-1).cpu().numpy()
        np.testing.assert_allclose(gpu, cpu, rtol=1e-6, equal_nan=True)


def test_causal_softmax_nan_row_is_nan_on_the_gpu():
    """The fused kernel must agree with the portable path: a NaN score poisons its row."""
    import minitensor.nn.functional as F
    s = mt.zeros(1, 3, 3)
    s.array[0, 2, 1] = float('nan')
    out = F.causal_softmax(s.to('gpu')).cpu().numpy()[0]
    assert np.isnan(out[2]).all() and not np.isnan(out[:2]).any()


def test_gpu_tensors_come_back_on_the_gpu(tmp_path):
    obj = {'w': mt.randn(3, device='gpu', requires_grad=True), 'c': mt.ones(2)}
    mt.save(obj, tmp_path / 'g.pt')
    out = mt.load(tmp_path / 'g.pt')
    assert out['w'].device == 'gpu' and out['w'].requires_grad and out['c'].device == 'cpu'
    assert mt.load(tmp_path / 'g.pt', map_location='cpu')['w'].device == 'cpu'
    np.testing.assert_array_equal(out['w'].detach().cpu().numpy(), obj['w'].detach().cpu().numpy())


def test_safetensors_from_the_gpu(tmp_path):
    pytest.importorskip('safetensors')
    sd = {'w': mt.randn(3, 2, device='gpu')}
    mt.save(sd, tmp_path / 'g.safetensors')
    out = mt.load(tmp_path / 'g.safetensors')
    assert out['w'].device == 'gpu'
    np.testing.assert_array_equal(out['w'].cpu().numpy(), sd['w'].cpu().numpy())
