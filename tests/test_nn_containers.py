"""Module API as torch: containers, apply, traversal, weight tying, state_dict/load_state_dict,
hooks, dtype casts, registration errors, Embedding(padding_idx, max_norm), Linear(0, n)."""
from collections import OrderedDict

import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn


class Tied(nn.Module):
    """nanoGPT's shape: a ModuleDict transformer and an lm_head tied to the token embedding."""

    def __init__(self):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(5, 3), h=nn.ModuleList([nn.Linear(3, 3)])))
        self.lm_head = nn.Linear(3, 5, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, idx):
        x = self.transformer.wte(idx)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(x)


def test_weight_tying_shares_one_parameter():
    m = Tied()
    assert m.transformer.wte.weight is m.lm_head.weight
    names = [n for n, _ in m.named_parameters()]
    assert names == ['transformer.wte.weight', 'transformer.h.0.weight', 'transformer.h.0.bias']
    assert sum(p.numel() for p in m.parameters()) == 15 + 9 + 3
    sd = m.state_dict()          # both names kept, as torch
    assert list(sd) == ['transformer.wte.weight', 'transformer.h.0.weight', 'transformer.h.0.bias',
                        'lm_head.weight']
    m2 = Tied()
    m2.load_state_dict(sd)
    assert m2.transformer.wte.weight is m2.lm_head.weight
    np.testing.assert_array_equal(m2.lm_head.weight.detach().numpy(), m.lm_head.weight.detach().numpy())
    m(mt.tensor([[1, 2]])).sum().backward()
    opt = mt.optim.AdamW(m.parameters(), lr=0.1)
    assert sum(len(g['params']) for g in opt.param_groups) == 3
    opt.step()


def test_apply_named_modules_children():
    m = Tied()
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ['Embedding', 'Linear', 'ModuleList', 'ModuleDict', 'Linear', 'Tied']
    assert [n for n, _ in m.named_modules()] == ['', 'transformer', 'transformer.wte', 'transformer.h',
                                                 'transformer.h.0', 'lm_head']
    assert [n for n, _ in m.named_modules(prefix='model')][:2] == ['model', 'model.transformer']
    assert [n for n, _ in m.named_children()] == ['transformer', 'lm_head']
    shared = nn.Sequential(OrderedDict(a=nn.ReLU()))
    shared.b = shared.a
    assert len(list(shared.named_modules())) == 2
    assert len(list(shared.named_modules(remove_duplicate=False))) == 3
    assert m.get_submodule('transformer.h.0') is m.transformer.h[0]
    assert m.get_parameter('lm_head.weight') is m.lm_head.weight
    with pytest.raises(AttributeError):
        m.get_submodule('transformer.nope')


def test_containers():
    d = nn.ModuleDict({'a': nn.Linear(2, 2)})
    d['b'] = nn.ReLU()
    d.update([('c', nn.Tanh())])
    assert list(d.keys()) == ['a', 'b', 'c'] and 'b' in d and len(d) == 3
    assert isinstance(d.pop('c'), nn.Tanh) and list(d) == ['a', 'b']
    pl = nn.ParameterList([nn.Parameter(mt.ones(2)), mt.zeros(3)])
    pl.append(mt.ones(1))
    assert len(pl) == 3 and all(isinstance(p, nn.Parameter) for p in pl)
    assert [n for n, _ in pl.named_parameters()] == ['0', '1', '2']
    pd = nn.ParameterDict({'w': mt.ones(2)})
    pd['b'] = nn.Parameter(mt.zeros(1))
    assert list(pd.keys()) == ['w', 'b'] and isinstance(pd['w'], nn.Parameter)
    assert [n for n, _ in pd.named_parameters()] == ['w', 'b']
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    ml.insert(0, nn.Sigmoid())
    del ml[1]
    assert [type(x).__name__ for x in ml] == ['Sigmoid', 'Tanh'] and list(ml._modules) == ['0', '1']
    assert isinstance(ml[-1], nn.Tanh)
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    assert seq.append(nn.Tanh())[3].__class__ is nn.Tanh


def test_load_state_dict_returns_named_tuple():
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    del sd['bias']
    sd['extra'] = mt.zeros(1)
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ['bias'] and result.unexpected_keys == ['extra']
    missing, unexpected = result
    assert missing == ['bias']


def test_registration_rules_as_torch():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match='weight'):
        m.weight = mt.ones(2, 2)              # a plain tensor can't replace a Parameter
    m.bias = None
    assert 'bias' in m._parameters and m.bias is None
    assert [n for n, _ in m.named_parameters()] == ['weight']
    bn = nn.BatchNorm1d(2)
    bn.running_mean = mt.ones(2)               # assigning a tensor to a buffer keeps it a buffer
    assert 'running_mean' in dict(bn.named_buffers())
    m.register_buffer('tmp', mt.ones(1), persistent=False)
    assert 'tmp' in dict(m.named_buffers()) and 'tmp' not in m.state_dict()
    with pytest.raises(KeyError):
        m.register_buffer('a.b', mt.ones(1))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        m.nope
    assert m.train() is m and m.eval() is m and not m.training


def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape))
    y = m(mt.ones(3, 2))
    np.testing.assert_allclose(y.detach().numpy(), np.broadcast_to(m.bias.detach().numpy(), (3, 2)))
    assert calls == [(3, 2)]
    h1.remove()
    h2.remove()
    assert not np.allclose(m(mt.ones(3, 2)).detach().numpy(), y.detach().numpy()) and calls == [(3, 2)]


def test_dtype_casts_and_zero_grad():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    assert m.half().__class__ is nn.Sequential
    assert all(p.dtype == mt.float16 for p in m.parameters())
    assert m[1].num_batches_tracked.dtype == mt.int64        # integer buffers keep their dtype
    m.to(mt.float64)
    assert all(p.dtype == mt.float64 for p in m.parameters())
    m.to('cpu', dtype=mt.float32)
    assert all(p.dtype == mt.float32 for p in m.parameters())
    m(mt.randn(3, 2)).sum().backward()
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_embedding_padding_idx_and_max_norm():
    torch = pytest.importorskip('torch')
    e = nn.Embedding(5, 3, padding_idx=1)
    assert np.all(e.weight.detach().numpy()[1] == 0)
    e(mt.tensor([1, 2, 1])).sum().backward()
    assert np.all(e.weight.grad.numpy()[1] == 0) and np.all(e.weight.grad.numpy()[2] == 1)
    w = np.random.default_rng(0).standard_normal((5, 3)) * 3
    ours = nn.Embedding(5, 3, max_norm=1.0)
    ours.weight.data = mt.tensor(w.copy())
    theirs = torch.nn.Embedding(5, 3, max_norm=1.0).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
    idx = [[0, 2], [2, 4]]
    np.testing.assert_allclose(ours(mt.tensor(idx)).detach().numpy(),
                               theirs(torch.tensor(idx)).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    assert repr(nn.Embedding(5, 3, padding_idx=1)) == repr(torch.nn.Embedding(5, 3, padding_idx=1))


def test_linear_with_zero_inputs_as_torch():
    m = nn.Linear(0, 4)
    assert m.weight.shape == (4, 0)
    np.testing.assert_array_equal(m.bias.detach().numpy(), np.zeros(4))
    y = m(mt.randn(3, 0))
    assert y.shape == (3, 4) and np.all(y.detach().numpy() == 0)

