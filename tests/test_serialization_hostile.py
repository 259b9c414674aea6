"""mt.load on hostile files: every malformed file is ValueError("load: ..."), never
another exception, and nothing is inflated or allocated from a size the file merely
claims. Also what nanoGPT's torch.save checkpoints hold round-trips, requires_grad
survives, and map_location/weights_only are torch's."""
import io
import json
import struct
import zipfile

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn
from minitensor import serialization


def small_file(tmp_path):
    path = tmp_path / 'small.pt'
    mt.save({'w': mt.tensor([[1.0, 2.0]]), 'rg': mt.ones(1, requires_grad=True),
             'n': 3, 'cfg': {'lr': 0.1, 'name': 'x', 'on': True, 'none': None}, 'k': (1, 2)},
            path)
    return path.read_bytes()


def load_bytes(data):
    return mt.load(io.BytesIO(data))


def same(a, b):
    if isinstance(a, mt.Tensor):
        return (isinstance(b, mt.Tensor) and a.dtype == b.dtype and a.shape == b.shape and
                a.requires_grad == b.requires_grad and
                np.array_equal(a.detach().numpy(), b.detach().numpy()))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


def test_every_single_flipped_byte_is_refused_or_harmless(tmp_path):
    """Flip each byte of a small file: load either raises ValueError('load: ...') or
    returns exactly the saved object (bytes zip does not check, such as timestamps)."""
    good = small_file(tmp_path)
    original = load_bytes(good)
    refused = 0
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0xFF
        try:
            out = load_bytes(bytes(bad))
        except ValueError as e:
            assert str(e).startswith('load: '), (i, e)
            refused += 1
            continue
        assert same(out, original), i
    assert refused > len(good) * 0.8           # almost every byte matters (CRC, headers, sizes)


def test_every_truncation_is_refused(tmp_path):
    good = small_file(tmp_path)
    for n in range(0, len(good), 7):
        with pytest.raises(ValueError, match='^load: '):
            load_bytes(good[:n])


def stored_zip(members, compress=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', compression=compress) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def npy(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def npy_claiming(shape_text, data=b'\0' * 32, descr="'<f8'"):
    """A .npy member whose header says what we like, padded as numpy pads it."""
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape_text}, }}"
    header += ' ' * (-(10 + len(header) + 1) % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(header)) + header.encode() + data


def meta(root):
    return npy(np.frombuffer(json.dumps({'format': serialization.FORMAT, 'version': 1,
                                         'root': root}).encode(), np.uint8))


def test_a_zip_bomb_is_refused_without_inflating_it():
    bomb = stored_zip({'__minitensor__.npy': meta({'t': 'tensor', 'a': 'a0'}),
                       'a0.npy': npy(np.zeros(50_000_000, np.uint8))}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 100_000                                  # 50 MB deflates to ~50 KB
    with pytest.raises(ValueError, match="is compressed .*refused unread"):
        load_bytes(bomb)


def test_overlapping_members_are_refused():
    """A directory pointing many entries at one local file (the non-recursive bomb)."""
    good = stored_zip({'__minitensor__.npy': meta({'t': 'tensor', 'a': 'a0'}),
                       'a0.npy': npy(np.zeros(10))})
    zf = zipfile.ZipFile(io.BytesIO(good))
    info = zf.getinfo('a0.npy')
    end = good.rindex(b'PK\x05\x06')
    cd_start = struct.unpack('<I', good[end + 16:end + 20])[0]
    entry = good[good.index(b'PK\x01\x02' + good[cd_start + 4:cd_start + 8], cd_start):]
    entry = entry[entry.index(b'PK\x01\x02', 4):end - 0] if entry.startswith(b'PK\x01\x02') else entry
    dup = bytearray(good[cd_start:end])
    a0 = dup.index(b'a0.npy') - 46
    copy = bytearray(dup[a0:])
    copy[46:52] = b'a1.npy'
    directory = bytes(dup) + bytes(copy)
    eocd = bytearray(good[end:])
    struct.pack_into('<HHI', eocd, 8, 3, 3, len(directory))
    bomb = good[:cd_start] + directory + bytes(eocd)
    assert zipfile.ZipFile(io.BytesIO(bomb)).getinfo('a1.npy').header_offset == info.header_offset
    with pytest.raises(ValueError, match='overlap'):
        load_bytes(bomb)


DEEP = {'t': 'list', 'v': []}
for _ in range(serialization.MAX_DEPTH + 10):
    DEEP = {'t': 'list', 'v': [DEEP]}


@pytest.mark.parametrize('members, found', [
    ({'a0.npy': npy(np.zeros(3))}, "without the '__minitensor__' entry"),
    ({'__minitensor__.npy': npy(np.zeros(3))}, 'not minitensor metadata'),
    ({'__minitensor__.npy': npy(np.frombuffer(b'{"format": ', np.uint8))}, 'not valid JSON'),
    ({'__minitensor__.npy': npy(np.frombuffer(b'[' * 100_000 + b']' * 100_000, np.uint8))},
     'not valid JSON|not minitensor metadata'),
    ({'__minitensor__.npy': meta({'t': 'tensor', 'a': 'a9'})}, "array 'a9' that the file lacks"),
    ({'__minitensor__.npy': meta({'t': 'zzz'})}, 'unknown kind'),
    ({'__minitensor__.npy': meta({'t': 'list', 'v': 3})}, 'without a list'),
    ({'__minitensor__.npy': meta({'t': 'dict', 'k': [[1]], 'v': [1]})}, 'dict key'),
    ({'__minitensor__.npy': meta({'t': 'dict', 'k': [1, 2], 'v': [1]})}, 'do not pair'),
    ({'__minitensor__.npy': meta([1, 2])}, 'bare JSON list'),
    ({'__minitensor__.npy': meta(json.loads('[' * 150 + ']' * 150))}, 'bare JSON'),
    ({'__minitensor__.npy': meta(DEEP)}, 'nested more than'),
    ({'__minitensor__.npy': meta({'t': 'tensor', 'a': 'a0', 'rg': 'yes'}),
      'a0.npy': npy(np.zeros(2))}, 'not a bool'),
    ({'__minitensor__.npy': meta({'t': 'tensor', 'a': 'a0', 'rg': True}),
      'a0.npy': npy(np.zeros(2, np.int64))}, 'require grad'),
    ({'__minitensor__.npy': meta({'t': 'tensor', 'a': 'a0', 'd': 'tpu'}),
      'a0.npy': npy(np.zeros(2))}, 'unknown device'),
    ({'__minitensor__.npy': meta({'t': 'scalar', 'a': 'a0'}),
      'a0.npy': npy(np.zeros(2))}, 'a scalar'),
    ({'__minitensor__.npy': meta({'t': 'bytes', 'a': 'a0'}),
      'a0.npy': npy(np.zeros(2))}, 'bytes'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': npy(np.array(['a'], dtype=object))}, 'dtype object'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': npy(np.zeros(2, [('x', 'f4')]))}, 'does not load'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': npy(np.zeros(4))[:-8]}, 'declares shape'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': npy(np.zeros(4)) + b'\0' * 8}, 'declares shape'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': npy_claiming('(-4,)')}, 'invalid shape|damaged'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': npy_claiming('(' + '9' * 99 + ',)')},
     'declares shape|damaged'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': npy_claiming(f'({2 ** 40}, {2 ** 40})')},
     'declares shape'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': npy_claiming('(4,)', descr="'|O'")}, 'dtype object'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': npy_claiming('(4,)', descr="'<q9'")}, 'damaged'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': npy_claiming('[4]')}, 'invalid shape|damaged'),
    ({'__minitensor__.npy': meta(1), 'a0.npy': b'\x93NUMPY\x09\x00'}, 'damaged'),
    ({'__minitensor__.npy': meta(1), 'notes.txt': b'hi'}, 'not a .npy array'),
    ({'__minitensor__.npy': meta(1), 'archive/data.pkl': b'\x80\x04'}, 'torch.save'),
])
def test_malformed_archives_name_the_problem(members, found):
    with pytest.raises(ValueError, match=found) as e:
        load_bytes(stored_zip(members))
    assert str(e.value).startswith('load: ')


def test_a_valid_hand_made_archive_loads():
    """The tests above fail for their stated reason, not for being hand-made."""
    out = load_bytes(stored_zip({'__minitensor__.npy': meta({'t': 'tensor', 'a': 'a0'}),
                                 'a0.npy': npy(np.arange(4.0))}))
    np.testing.assert_array_equal(out.numpy(), np.arange(4.0))
    out = load_bytes(stored_zip({'__minitensor__.npy': meta({'t': 'array', 'a': 'a0'}),
                                 'a0.npy': npy_claiming('(4,)')}))
    np.testing.assert_array_equal(out, np.zeros(4))


def test_too_many_members_and_too_big_metadata(monkeypatch):
    members = {f'a{i}.npy': npy(np.zeros(1)) for i in range(5)}
    members['__minitensor__.npy'] = meta(1)
    monkeypatch.setattr(serialization, 'MAX_MEMBERS', 4)
    with pytest.raises(ValueError, match='declares 6 members'):
        load_bytes(stored_zip(members))
    monkeypatch.setattr(serialization, 'MAX_MEMBERS', 100)
    monkeypatch.setattr(serialization, 'MAX_META_BYTES', 10)
    with pytest.raises(ValueError, match='not minitensor metadata'):
        load_bytes(stored_zip(members))


def test_save_refuses_absurd_nesting(tmp_path):
    deep = []
    for _ in range(serialization.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ValueError, match='nested more than'):
        mt.save(deep, tmp_path / 'deep.pt')
    ok = []
    for _ in range(serialization.MAX_DEPTH - 1):
        ok = [ok]
    mt.save(ok, tmp_path / 'ok.pt')
    assert mt.load(tmp_path / 'ok.pt') == ok


# ---------------------------------------------------------------- what programs save

def test_requires_grad_of_plain_tensors_survives(tmp_path):
    """As torch.save/torch.load (it used to come back False)."""
    obj = {'x': mt.ones(2, requires_grad=True), 'y': mt.ones(2), 'p': nn.Parameter(mt.ones(1)),
           'frozen': nn.Parameter(mt.ones(1), requires_grad=False)}
    mt.save(obj, tmp_path / 'g.pt')
    out = mt.load(tmp_path / 'g.pt')
    assert out['x'].requires_grad and out['x'].is_leaf and not out['y'].requires_grad
    assert isinstance(out['p'], nn.Parameter) and out['p'].requires_grad
    assert not out['frozen'].requires_grad


def test_a_nanogpt_style_checkpoint_round_trips(tmp_path):
    """What nanoGPT's train.py passes to torch.save, with mt in place of torch."""
    mt.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 4)) if hasattr(nn, 'Sequential') \
        else nn.Linear(4, 4)
    opt = mt.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95))
    model(mt.randn(2, 4)).sum().backward()
    opt.step()
    checkpoint = {
        'model': model.state_dict(), 'optimizer': opt.state_dict(),
        'model_args': dict(n_layer=4, n_head=4, n_embd=128, block_size=64, bias=False,
                           vocab_size=None, dropout=0.0),
        'iter_num': 2000, 'best_val_loss': mt.tensor(1.4697),
        'config': {'out_dir': 'out', 'eval_interval': 250, 'always_save_checkpoint': False,
                   'wandb_run_name': 'mini-gpt', 'learning_rate': 1e-3, 'dtype': 'float32',
                   'compile': False, 'init_from': 'scratch', 'min_lr': 1e-4, 'seed': None},
    }
    mt.save(checkpoint, tmp_path / 'ckpt.pt')
    out = mt.load(tmp_path / 'ckpt.pt', map_location='cpu', weights_only=True)
    assert same(out['model_args'], checkpoint['model_args']) and out['iter_num'] == 2000
    assert same(out['config'], checkpoint['config'])
    assert out['best_val_loss'].shape == () and abs(out['best_val_loss'].item() - 1.4697) < 1e-6
    assert same(out['model'], checkpoint['model'])
    model.load_state_dict(out['model'])
    opt.load_state_dict(out['optimizer'])
    assert same(out['optimizer'], opt.state_dict())


def test_map_location_forms(tmp_path):
    mt.save({'w': mt.ones(2)}, tmp_path / 'm.pt')
    for loc in ('cpu', mt.device('cpu'), {'cuda': 'cpu'}, {'cuda:0': 'cpu'}, None):
        assert mt.load(tmp_path / 'm.pt', map_location=loc)['w'].device == 'cpu'
    with pytest.raises(ValueError, match='unknown device'):
        mt.load(tmp_path / 'm.pt', map_location='tpu')
    with pytest.raises(TypeError, match='map_location as a function'):
        mt.load(tmp_path / 'm.pt', map_location=lambda storage, loc: storage)


def test_gpu_saved_tensors_need_a_gpu_or_map_location(tmp_path):
    """A file written on a GPU machine: on a CPU-only machine torch raises and points at
    map_location; so do we."""
    members = {'__minitensor__.npy': meta({'t': 'tensor', 'a': 'a0', 'd': 'gpu'}),
               'a0.npy': npy(np.arange(3.0))}
    data = stored_zip(members)
    out = mt.load(io.BytesIO(data), map_location='cpu')
    assert out.device == 'cpu' and out.tolist() == [0.0, 1.0, 2.0]
    if not mt.gpu_available():
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            mt.load(io.BytesIO(data))
    else:
        assert mt.load(io.BytesIO(data)).device == 'gpu'


def test_file_objects_as_torch(tmp_path):
    buf = io.BytesIO()
    mt.save({'a': mt.arange(3)}, buf)
    buf.seek(0)
    assert mt.load(buf)['a'].tolist() == [0, 1, 2]
    with open(tmp_path / 'f.pt', 'wb') as f:
        mt.save([1, 'two'], f)
    with open(tmp_path / 'f.pt', 'rb') as f:
        assert mt.load(f) == [1, 'two']
