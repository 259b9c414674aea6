"""mt.save / mt.load of .safetensors paths: round trips, PyTorch reading our files
(safetensors.torch.load_file) and us reading PyTorch's, hostile files refused."""
import os

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn

pytest.importorskip('safetensors')


def state(seed=0):
    mt.manual_seed(seed)
    return {'w': mt.randn(3, 4), 'b': mt.zeros(4, dtype=mt.float64), 'idx': mt.arange(5),
            'mask': mt.tensor([True, False]), 'h': mt.ones(2, dtype=mt.float16)}


def test_round_trip_keeps_dtypes_values_and_grad_flags(tmp_path):
    sd = state()
    sd['p'] = nn.Parameter(mt.ones(2))
    sd['g'] = mt.ones(2, requires_grad=True)
    path = tmp_path / 'model.safetensors'
    mt.save(sd, path)
    out = mt.load(path)
    assert out.keys() == sd.keys()
    for k in sd:
        assert out[k].dtype == sd[k].dtype and out[k].shape == sd[k].shape
        np.testing.assert_array_equal(out[k].detach().numpy(), sd[k].detach().numpy())
    assert isinstance(out['p'], nn.Parameter) and out['p'].requires_grad
    assert out['g'].requires_grad and not out['w'].requires_grad
    assert os.listdir(tmp_path) == ['model.safetensors']        # no temp left behind


def test_a_module_state_dict_round_trips(tmp_path):
    model = nn.Linear(4, 3)
    mt.save(model.state_dict(), str(tmp_path / 'lin.safetensors'))
    other = nn.Linear(4, 3)
    other.load_state_dict(mt.load(str(tmp_path / 'lin.safetensors')))
    x = mt.randn(2, 4)
    np.testing.assert_array_equal(model(x).detach().numpy(), other(x).detach().numpy())


def test_pytorch_reads_our_file_and_we_read_theirs(tmp_path):
    torch = pytest.importorskip('torch')
    from safetensors.torch import load_file, save_file
    sd = state()
    mt.save(sd, tmp_path / 'ours.safetensors')
    theirs = load_file(str(tmp_path / 'ours.safetensors'))
    for k, t in sd.items():
        assert str(theirs[k].dtype) == repr(t.dtype).replace('minitensor.', 'torch.')
        np.testing.assert_array_equal(theirs[k].numpy(), t.numpy())
    lin = torch.nn.Linear(4, 3)
    save_file(lin.state_dict(), str(tmp_path / 'torch.safetensors'))
    ours = nn.Linear(4, 3)
    ours.load_state_dict(mt.load(tmp_path / 'torch.safetensors'))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(mt.tensor(x)).detach().numpy(),
                               lin(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)


def test_only_flat_dicts_of_tensors(tmp_path):
    with pytest.raises(TypeError, match="flat dict of str -> Tensor"):
        mt.save({'model': {'w': mt.ones(1)}}, tmp_path / 'x.safetensors')
    with pytest.raises(TypeError, match="flat dict of str -> Tensor"):
        mt.save(mt.ones(1), tmp_path / 'x.safetensors')


def test_map_location(tmp_path):
    mt.save({'w': mt.ones(2)}, tmp_path / 'x.safetensors')
    assert mt.load(tmp_path / 'x.safetensors', map_location='cpu')['w'].device == 'cpu'


def test_hostile_safetensors_files_are_value_errors(tmp_path):
    mt.save(state(), tmp_path / 'good.safetensors')
    good = (tmp_path / 'good.safetensors').read_bytes()
    bad_path = tmp_path / 'bad.safetensors'
    cases = [good[:5], good[:len(good) // 2], b'\xff' * 8 + good[8:],
             (10 ** 9).to_bytes(8, 'little') + good[8:], good[:8] + b'[' * 50 + good[58:]]
    for i in range(0, len(good), max(1, len(good) // 200)):      # flipped header bytes
        bad = bytearray(good)
        bad[i] ^= 0xFF
        cases.append(bytes(bad))
    for data in cases:
        bad_path.write_bytes(data)
        try:
            mt.load(bad_path)
        except ValueError as e:
            assert str(e).startswith('load: ')

