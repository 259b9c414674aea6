"""mt.save / mt.load: round trips, atomic writes, clear errors for foreign or broken files."""
import collections
import os
import pickle

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
from minitensor import serialization
from minitensor.tensor import Tensor

NOT_OURS = "is not a minitensor checkpoint"


def round_trip(obj, tmp_path, **kw):
    path = tmp_path / 'obj.ckpt'
    mt.save(obj, path)
    return mt.load(path, **kw)


# ---------------------------------------------------------------- round trips

@pytest.mark.parametrize('dtype', ['float16', 'float32', 'float64', 'int32', 'int64', 'bool', 'uint8'])
def test_tensor_dtype_shape_and_values_survive(dtype, tmp_path):
    a = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    t = round_trip(mt.tensor(a), tmp_path)
    assert isinstance(t, Tensor) and t.device == 'cpu'
    assert t.dtype == np.dtype(dtype) and t.shape == (2, 3, 4)
    np.testing.assert_array_equal(t.numpy(), a)


def test_nested_structure_with_plain_values(tmp_path):
    obj = {
        'ints': [0, -7, 2 ** 70],                         # a big int (RNG states have 128-bit ones)
        'floats': (1.5, float('inf'), -0.0, 1e-300, 0.1 + 0.2),
        'text': 'héllo\n"quoted"', 'flag': True, 'nothing': None, 'empty': {}, 'blank': [],
        'bytes': b'\x00\xffabc',
        3: 'int key', (1, 'a'): 'tuple key', 2.5: 'float key', None: 'none key',
        'nested': {'a': [{'b': (mt.zeros(2), 'c')}]},
    }
    out = round_trip(obj, tmp_path)
    assert out.keys() == obj.keys()
    assert out['ints'] == [0, -7, 2 ** 70] and type(out['floats']) is tuple
    assert out['floats'] == obj['floats'] and str(out['floats'][2]) == '-0.0'
    for k in ('text', 'flag', 'nothing', 'empty', 'blank', 'bytes', 3, (1, 'a'), 2.5, None):
        assert out[k] == obj[k] and type(out[k]) is type(obj[k])
    inner = out['nested']['a'][0]['b']
    assert type(inner) is tuple and inner[1] == 'c'
    np.testing.assert_array_equal(inner[0].numpy(), np.zeros(2, np.float32))


def test_nan_and_numpy_scalars_and_arrays(tmp_path):
    out = round_trip({'nan': float('nan'), 'f32': np.float32(0.1), 'i64': np.int64(-3),
                      'arr': np.arange(5, dtype=np.int16), 'empty': np.zeros((0, 3))}, tmp_path)
    assert np.isnan(out['nan'])
    assert type(out['f32']) is np.float32 and out['f32'] == np.float32(0.1)
    assert type(out['i64']) is np.int64 and out['i64'] == -3
    assert type(out['arr']) is np.ndarray and out['arr'].dtype == np.int16
    assert out['empty'].shape == (0, 3)


def test_ordered_dict_order_and_parameters(tmp_path):
    sd = collections.OrderedDict([('z', mt.ones(1)), ('a', nn.Parameter(mt.ones(2)))])
    out = round_trip(sd, tmp_path)
    assert type(out) is collections.OrderedDict and list(out) == ['z', 'a']
    assert isinstance(out['a'], nn.Parameter) and out['a'].requires_grad
    assert not isinstance(out['z'], nn.Parameter) and not out['z'].requires_grad


def test_loaded_tensors_do_not_share_memory_with_the_saved_ones(tmp_path):
    t = mt.ones(3)
    out = round_trip({'t': t}, tmp_path)
    t.array[0] = 5.0
    np.testing.assert_array_equal(out['t'].numpy(), np.ones(3, np.float32))


def test_model_state_dict_round_trip_gives_the_same_model(tmp_path):
    mt.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    mt.save(model.state_dict(), tmp_path / 'model.ckpt')
    mt.manual_seed(1)
    other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = mt.randn(5, 4)
    with mt.no_grad():
        assert not np.allclose(model(x).numpy(), other(x).numpy())
        other.load_state_dict(mt.load(tmp_path / 'model.ckpt'))
        np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())


def test_training_checkpoint_resumes_identically(tmp_path):
    def make():
        mt.manual_seed(0)
        model = nn.Linear(3, 2)
        return model, mt.optim.AdamW(model.parameters(), lr=0.05)

    def train(model, opt, steps, start):
        for s in range(start, start + steps):
            x = mt.tensor(np.random.default_rng(s).standard_normal((8, 3)).astype(np.float32))
            loss = (model(x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    model, opt = make()
    train(model, opt, 5, 0)
    mt.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'step': 5,
             'config': {'n_embd': 3, 'betas': (0.9, 0.999), 'dropout': 0.0},
             'vocab': "\n !abcxyz"}, tmp_path / 'run.ckpt')
    train(model, opt, 5, 5)

    ckpt = mt.load(tmp_path / 'run.ckpt')
    assert ckpt['step'] == 5 and ckpt['vocab'] == "\n !abcxyz"
    assert ckpt['config'] == {'n_embd': 3, 'betas': (0.9, 0.999), 'dropout': 0.0}
    model2, opt2 = make()
    model2.load_state_dict(ckpt['model'])
    opt2.load_state_dict(ckpt['optimizer'])
    train(model2, opt2, 5, ckpt['step'])
    for (name, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_paths_may_be_pathlike_and_keep_their_extension(tmp_path):
    path = tmp_path / 'weights.pt'
    mt.save({'w': mt.ones(2)}, path)
    assert sorted(os.listdir(tmp_path)) == ['weights.pt']     # no '.npz' appended
    np.testing.assert_array_equal(mt.load(str(path))['w'].numpy(), [1, 1])


def test_unsupported_objects_are_named_with_their_location(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['cfg'\]\['fn'\] of type function"):
        mt.save({'cfg': {'fn': lambda: 0}}, tmp_path / 'x.ckpt')
    with pytest.raises(TypeError, match='set'):
        mt.save([{1, 2}], tmp_path / 'x.ckpt')
    with pytest.raises(TypeError, match='without pickle'):
        mt.save(np.array([object()]), tmp_path / 'x.ckpt')
    assert os.listdir(tmp_path) == []                         # nothing half-written


# ---------------------------------------------------------------- atomic writes

def test_a_failure_mid_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pt'
    mt.save({'version': 1, 'w': mt.ones(1000)}, path)
    old_bytes = path.read_bytes()

    def crash(file, **arrays):
        file.write(b'PK\x03\x04 half a zip')               # some bytes reach the temp file
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(serialization.np, 'savez', crash)
    with pytest.raises(OSError, match='simulated'):
        mt.save({'version': 2, 'w': mt.zeros(1000)}, path)
    monkeypatch.undo()

    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ['ckpt.pt']
    assert mt.load(path)['version'] == 1


def test_a_failed_rename_leaves_no_temp_and_no_new_file(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError("rename refused (simulated)")
    monkeypatch.setattr(serialization.os, 'replace', refuse)
    with pytest.raises(PermissionError):
        mt.save({'w': mt.ones(3)}, tmp_path / 'new.pt')
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_interrupt_during_write_cleans_up(tmp_path, monkeypatch):
    def interrupted(file, **arrays):
        raise KeyboardInterrupt
    monkeypatch.setattr(serialization.np, 'savez', interrupted)
    with pytest.raises(KeyboardInterrupt):
        mt.save({'w': mt.ones(3)}, tmp_path / 'new.pt')
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_overwrite_replaces_the_content(tmp_path):
    path = tmp_path / 'c.pt'
    mt.save({'step': 1}, path)
    mt.save({'step': 2}, path)
    assert mt.load(path) == {'step': 2} and os.listdir(tmp_path) == ['c.pt']


# ---------------------------------------------------------------- foreign and broken files

@pytest.fixture
def saved(tmp_path):
    path = tmp_path / 'good.pt'
    mt.save({'w': mt.randn(64, 64), 'step': 3}, path)
    return path.read_bytes()


@pytest.mark.parametrize('keep', [0.0, 0.01, 0.5, 0.99])
def test_truncated_files_give_a_clear_error(saved, tmp_path, keep):
    path = tmp_path / 'cut.pt'
    path.write_bytes(saved[:int(len(saved) * keep)])
    with pytest.raises(ValueError, match=NOT_OURS) as e:
        mt.load(path)
    assert str(path) in str(e.value) and 'truncated' in str(e.value)


def test_the_last_byte_missing_is_caught(saved, tmp_path):
    path = tmp_path / 'cut.pt'
    path.write_bytes(saved[:-1])
    with pytest.raises(ValueError, match=NOT_OURS):
        mt.load(path)


def test_corrupted_array_bytes_are_caught(saved, tmp_path):
    damaged = bytearray(saved)
    middle = len(damaged) // 2                              # inside the (64, 64) float array
    damaged[middle:middle + 8] = bytes(8)
    path = tmp_path / 'bad.pt'
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=NOT_OURS):
        mt.load(path)


@pytest.mark.parametrize('content, found', [
    (b'', 'empty'),
    (os.urandom(256).replace(b'PK', b'pk'), 'bytes starting'),
    (b'{"lr": 0.1, "this is": "json"}\n', 'text starting'),
    (pickle.dumps({'w': [1.0, 2.0]}), 'pickle'),
])
def test_foreign_files_say_what_they_are(tmp_path, content, found):
    path = tmp_path / 'foreign.bin'
    path.write_bytes(content)
    with pytest.raises(ValueError, match=NOT_OURS) as e:
        mt.load(path)
    assert found in str(e.value) and 'another program' in str(e.value)


def test_plain_npz_and_npy_files_are_refused(tmp_path):
    np.savez(tmp_path / 'plain.npz', w=np.ones(3))
    with pytest.raises(ValueError, match=r"without the '__minitensor__' entry, holding \[w\]"):
        mt.load(tmp_path / 'plain.npz')
    np.save(tmp_path / 'one.npy', np.ones(3))
    with pytest.raises(ValueError, match='single .npy array'):
        mt.load(tmp_path / 'one.npy')


class _Exploit:
    ran = False

    def __reduce__(self):
        return (_Exploit._run, ())

    @staticmethod
    def _run():
        _Exploit.ran = True


def test_pickled_payloads_are_never_executed(tmp_path):
    pickle.dump(_Exploit(), open(tmp_path / 'evil.pkl', 'wb'))
    # an npz with our metadata that points at an object array (only loadable by unpickling)
    meta = {'format': serialization.FORMAT, 'version': 1, 'root': {'t': 'array', 'a': 'a0'}}
    import json
    np.savez(tmp_path / 'evil.npz', a0=np.array([_Exploit()], dtype=object),
             __minitensor__=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    _Exploit.ran = False
    for name in ('evil.pkl', 'evil.npz'):
        with pytest.raises(ValueError, match=NOT_OURS):
            mt.load(tmp_path / name)
    assert _Exploit.ran is False


def test_a_torch_checkpoint_is_recognised(tmp_path):
    torch = pytest.importorskip('torch')
    torch.save({'w': torch.ones(2)}, tmp_path / 'model.pt')
    with pytest.raises(ValueError, match='torch.save') as e:
        mt.load(tmp_path / 'model.pt')
    assert NOT_OURS in str(e.value)


def test_a_newer_format_version_asks_for_an_upgrade(tmp_path):
    import json
    meta = {'format': serialization.FORMAT, 'version': 99, 'root': 1}
    np.savez(tmp_path / 'future.npz', __minitensor__=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    with pytest.raises(ValueError, match='newer minitensor.*upgrade'):
        mt.load(tmp_path / 'future.npz')


def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / 'nope.pt'
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        mt.load(missing)
    with pytest.raises(IsADirectoryError, match='is a directory'):
        mt.load(tmp_path)


def test_unknown_device_is_refused(tmp_path):
    mt.save(1, tmp_path / 'x.pt')
    with pytest.raises(ValueError, match='unknown device'):
        mt.load(tmp_path / 'x.pt', device='tpu')


# ---------------------------------------------------------------- devices

needs_gpu = pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")


@needs_gpu
def test_cpu_checkpoint_loads_onto_the_gpu_and_back(tmp_path):
    model = nn.Linear(3, 2)
    opt = mt.optim.AdamW(model.parameters(), lr=0.1)
    (model(mt.randn(4, 3)) ** 2).sum().backward()
    opt.step()
    mt.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'raw': np.arange(3)},
            tmp_path / 'c.pt')
    on_gpu = mt.load(tmp_path / 'c.pt', device='gpu')
    assert all(t.device == 'gpu' for t in on_gpu['model'].values())
    assert on_gpu['opt']['state'][0]['exp_avg'].device == 'gpu'
    assert type(on_gpu['raw']) is not np.ndarray                 # a cupy array

    gpu_model = nn.Linear(3, 2).to('gpu')
    gpu_model.load_state_dict(on_gpu['model'])
    gpu_opt = mt.optim.AdamW(gpu_model.parameters(), lr=0.1)
    gpu_opt.load_state_dict(mt.load(tmp_path / 'c.pt')['opt'])   # CPU state, GPU params
    assert gpu_opt.state[gpu_model.weight]['exp_avg'].__class__ is gpu_model.weight.array.__class__

    mt.save(gpu_model.state_dict(), tmp_path / 'g.pt')           # saved from the GPU
    back = mt.load(tmp_path / 'g.pt', map_location='cpu')
    assert back['weight'].device == 'cpu'
    np.testing.assert_array_equal(back['weight'].numpy(), model.weight.detach().numpy())
