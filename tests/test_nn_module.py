"""nn.Module: registration, traversal, modes, devices, state_dict, repr."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Sequential(nn.ReLU(), nn.Linear(4, 2))])
        self.register_buffer('tril', mt.tril(mt.ones(3, 3)))
        self.scale = nn.Parameter(mt.ones(1))

    def forward(self, x):
        x = self.fc(x)
        for b in self.blocks:
            x = b(x)
        return x * self.scale


def test_parameters_are_registered_with_dotted_names():
    names = [n for n, _ in Tiny().named_parameters()]
    assert names == ['scale', 'fc.weight', 'fc.bias', 'blocks.0.weight', 'blocks.0.bias',
                     'blocks.1.1.weight', 'blocks.1.1.bias']


def test_children_modules_and_buffers():
    m = Tiny()
    assert [type(c).__name__ for c in m.children()] == ['Linear', 'ModuleList']
    assert len(list(m.modules())) == 7      # Tiny, fc, ModuleList, Linear, Sequential, ReLU, Linear
    assert [n for n, _ in m.named_buffers()] == ['tril']
    assert 'tril' in m.state_dict() and 'tril' not in dict(m.named_parameters())


def test_shared_parameter_counted_once():
    m = nn.Module()
    lin = nn.Linear(2, 2)
    m.a, m.b = lin, lin
    assert len(list(m.parameters())) == 2
    assert m.num_parameters() == 6


def test_num_parameters():
    assert Tiny().num_parameters() == (3 * 4 + 4) + (4 * 4 + 4) + (4 * 2 + 2) + 1


def test_train_eval_propagates():
    m = Tiny()
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())


def test_dropout_identity_in_eval_and_scaled_in_train():
    mt.manual_seed(0)
    d = nn.Dropout(0.5)
    x = mt.ones(1000)
    y = d(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.4 < (y == 0).mean() < 0.6
    d.eval()
    assert np.array_equal(d(x).numpy(), x.numpy())


def test_zero_grad():
    m = Tiny()
    m(mt.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(float(np.abs(p.grad.numpy()).sum()) == 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_state_dict_round_trip_copies_values():
    a, b = Tiny(), Tiny()
    b.load_state_dict(a.state_dict())
    x = mt.randn(5, 3)
    assert np.array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    # loading copies: changing a afterwards does not change b
    with mt.no_grad():
        a.fc.weight.array[...] = 0
    assert not np.array_equal(a.fc.weight.detach().numpy(), b.fc.weight.detach().numpy())


def test_load_state_dict_lists_missing_unexpected_and_mismatched():
    m = Tiny()
    sd = m.state_dict()
    del sd['fc.bias']
    sd['extra.weight'] = mt.zeros(2)
    sd['blocks.0.weight'] = mt.zeros(5, 5)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(sd)
    msg = str(e.value)
    assert 'missing keys: fc.bias' in msg
    assert 'unexpected keys: extra.weight' in msg
    assert 'blocks.0.weight: checkpoint (5, 5) vs model (4, 4)' in msg


def test_load_state_dict_non_strict_reports_keys():
    m = Tiny()
    sd = m.state_dict()
    del sd['scale']
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ['scale'] and unexpected == []


def test_repr_like_torch():
    r = repr(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    assert r == ("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                 "  (1): ReLU()\n)")


def test_super_init_forgotten_gives_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match='super\\(\\).__init__'):
        Bad()


def test_double_casts_parameters_and_buffers():
    m = Tiny().double()
    assert all(p.dtype == mt.float64 for p in m.parameters())
    assert m.tril.dtype == mt.float64


@pytest.mark.skipif(not mt.gpu_available(), reason="needs CuPy and a CUDA GPU")
def test_module_to_gpu_and_back():
    m = Tiny()
    x = mt.randn(2, 3)
    ref = m(x).detach().numpy()
    m.to('gpu')
    assert all(p.device == 'gpu' for p in m.parameters()) and m.tril.device == 'gpu'
    out = m(x.to('gpu'))
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-5, atol=1e-6)
    m.to('cpu')
    assert all(p.device == 'cpu' for p in m.parameters())
