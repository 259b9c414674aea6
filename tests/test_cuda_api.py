"""mt.cuda's torch names, mt.device, mt.backends' torch spellings, and the other names
torch programs touch around the model, on a machine without a GPU (CI). Where torch is
importable, what both return without CUDA is compared."""
import os
import subprocess
import sys

import numpy as np
import pytest

import minitensor as mt

needs_no_gpu = pytest.mark.skipif(mt.gpu_available(), reason="checks the answers of a machine without a GPU")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, **env):
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, 'PYTHONPATH': ROOT, **env})


@needs_no_gpu
def test_without_a_gpu_cuda_reports_none():
    assert mt.cuda.is_available() is False
    assert mt.cuda.device_count() == 0
    assert mt.cuda.is_bf16_supported() is False
    assert mt.cuda.memory_allocated() == 0 and mt.cuda.memory_reserved() == 0
    mt.cuda.empty_cache()                               # a no-op, as torch's without CUDA
    device = 'cuda' if mt.cuda.is_available() else 'cpu'   # the lecture's first line
    assert mt.zeros(2, device=device).device == 'cpu'


@needs_no_gpu
@pytest.mark.parametrize('call', [lambda: mt.cuda.synchronize(), lambda: mt.cuda.current_device(),
                                  lambda: mt.cuda.set_device(0), lambda: mt.cuda.get_device_name(),
                                  lambda: mt.cuda.get_device_name(0)])
def test_without_a_gpu_device_calls_raise_a_clear_error(call):
    with pytest.raises(RuntimeError, match=r"cuda\.\w+: no CUDA GPU is available .*is_available\(\)"):
        call()


def test_cuda_manual_seed_seeds_the_random_streams():
    mt.cuda.manual_seed(123)
    a = mt.randn(5).numpy()
    mt.cuda.manual_seed_all(123)
    b = mt.randn(5).numpy()
    mt.manual_seed(123)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, mt.randn(5).numpy())


def test_without_a_gpu_answers_match_torchs():
    torch = pytest.importorskip('torch')
    if torch.cuda.is_available() or mt.cuda.is_available():
        pytest.skip('compares the answers of machines without CUDA')
    for name in ('is_available', 'device_count', 'is_bf16_supported', 'memory_allocated'):
        assert getattr(mt.cuda, name)() == getattr(torch.cuda, name)(), name
    assert mt.backends.mps.is_available() == torch.backends.mps.is_available()


def test_importing_the_kernel_modules_alone_works_and_imports_no_cupy():
    for module in ('minitensor.cuda.attention', 'minitensor.cuda.blas', 'minitensor.random_hash',
                   'minitensor.ops.nn', 'minitensor.cuda'):
        result = run_python(f"import {module}, sys; print('cupy' in sys.modules)")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == 'False', module


def test_device_objects_behave_like_torchs():
    d = mt.device('cuda')
    assert d.type == 'cuda' and d.index is None and str(d) == 'cuda' and repr(d) == "device(type='cuda')"
    assert str(mt.device('cuda:1')) == 'cuda:1' and mt.device('cuda', 1).index == 1
    assert mt.device('cpu').type == 'cpu' and str(mt.device('cpu')) == 'cpu'
    assert mt.device('gpu').type == 'cuda'                       # our name for the GPU
    assert mt.device('cuda') == 'gpu' and mt.device('cpu') == 'cpu' and mt.device('cpu') != 'gpu'
    assert mt.device(mt.device('cuda:0')).index == 0
    x = mt.randn(2, 3)
    assert x.to(mt.device('cpu')) is x and mt.zeros(2, device=mt.device('cpu')).device == 'cpu'
    with pytest.raises(ValueError, match=r"unknown device 'tpu'"):
        mt.device('tpu')
    with pytest.raises(ValueError, match=r"invalid device string 'cuda:x'"):
        mt.device('cuda:x')


def test_tensor_device_names_torch_programs_use():
    x = mt.randn(2, 3)
    assert x.is_cuda is False
    assert x.pin_memory() is x and x.is_pinned() is False
    y = x.to('cpu', non_blocking=True)
    assert y is x
    z = x.to(mt.zeros(1, dtype=mt.float64))                      # to(other): its dtype and device
    assert z.dtype == mt.float64 and z.device == 'cpu'
    w = x.to(device='cpu', dtype=mt.float64, non_blocking=True)
    assert w.dtype == mt.float64


def test_backends_spellings_share_the_one_tf32_flag():
    try:
        mt.backends.cuda.matmul.allow_tf32 = True
        assert mt.backends.allow_tf32 is True and mt.backends.cudnn.allow_tf32 is True
        mt.backends.cudnn.allow_tf32 = False
        assert mt.backends.allow_tf32 is False and mt.backends.cuda.matmul.allow_tf32 is False
        mt.set_float32_matmul_precision('high')
        assert mt.backends.allow_tf32 is True and mt.get_float32_matmul_precision() == 'high'
        mt.set_float32_matmul_precision('medium')
        assert mt.backends.allow_tf32 is True
        mt.set_float32_matmul_precision('highest')
        assert mt.backends.allow_tf32 is False and mt.get_float32_matmul_precision() == 'highest'
        with pytest.raises(ValueError, match=r"expected one of 'highest', 'high', 'medium', got 'low'"):
            mt.set_float32_matmul_precision('low')
    finally:
        mt.backends.allow_tf32 = False
    mt.backends.cudnn.benchmark = True                          # accepted: no cuDNN here
    mt.backends.cudnn.benchmark = False
    assert mt.backends.cuda.is_built() == (__import__('importlib').util.find_spec('cupy') is not None)
    assert mt.backends.mps.is_available() is False and mt.backends.mps.is_built() is False


def test_compile_returns_the_model_and_works_as_a_decorator():
    model = mt.nn.Linear(3, 2)
    assert mt.compile(model) is model
    assert mt.compile(model, mode='max-autotune', fullgraph=True) is model

    @mt.compile
    def f(x):
        return x * 2

    @mt.compile(mode='reduce-overhead')
    def g(x):
        return x + 1
    assert f(3) == 6 and g(3) == 4


def test_default_dtype_and_bfloat16_name():
    assert mt.get_default_dtype() == mt.float32 == mt.tensor([1.5]).dtype
    assert repr(mt.bfloat16) == 'minitensor.bfloat16'
    ptdtype = {'float32': mt.float32, 'bfloat16': mt.bfloat16, 'float16': mt.float16}['float32']
    assert ptdtype == mt.float32                                 # nanoGPT's dict, as it is written


def test_import_changes_no_process_wide_allocator_setting():
    code = ("import ctypes, minitensor as mt; from minitensor import backend; "
            "print(hasattr(backend, 'malloc_tuned'), mt.backends.tune_cpu_allocator())")
    out = run_python(code).stdout.split()
    assert out[0] == 'False'
    assert out[1] == str(sys.platform.startswith('linux'))
    assert run_python(code, MINITENSOR_NO_MALLOPT='1').stdout.split()[1] == 'False'
