"""RNN, LSTM and GRU against torch with copied weights: outputs, final states and the
gradients of the input, the initial states and every parameter (float64)."""
import numpy as np
import pytest

import minitensor as mt
import minitensor.nn as nn

torch = pytest.importorskip('torch')


@pytest.mark.parametrize('cls', ['RNN', 'LSTM', 'GRU'])
@pytest.mark.parametrize('kw, batched', [
    ({}, True),
    ({'num_layers': 2, 'batch_first': True}, True),
    ({'bidirectional': True, 'bias': False}, True),
    ({'num_layers': 2, 'bidirectional': True}, False),
], ids=['plain', 'layers_batch_first', 'bidirectional', 'unbatched'])
def test_matches_torch(cls, kw, batched):
    theirs = getattr(torch.nn, cls)(3, 4, **kw).double()
    ours = getattr(nn, cls)(3, 4, **kw)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict({k: mt.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    ours.double()
    rng = np.random.default_rng(0)
    shape = ((2, 5, 3) if kw.get('batch_first') else (5, 2, 3)) if batched else (5, 3)
    n_states = kw.get('num_layers', 1) * (2 if kw.get('bidirectional') else 1)
    state_shape = (n_states, 2, 4) if batched else (n_states, 4)
    a = rng.standard_normal(shape)
    h = rng.standard_normal(state_shape)
    c = rng.standard_normal(state_shape)
    x, tx = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    h0, th0 = mt.tensor(h, requires_grad=True), torch.tensor(h, requires_grad=True)
    c0, tc0 = mt.tensor(c, requires_grad=True), torch.tensor(c, requires_grad=True)
    if cls == 'LSTM':
        out, (hn, cn) = ours(x, (h0, c0))
        tout, (thn, tcn) = theirs(tx, (th0, tc0))
        pairs = [(out, tout), (hn, thn), (cn, tcn)]
    else:
        out, hn = ours(x, h0)
        tout, thn = theirs(tx, th0)
        pairs = [(out, tout), (hn, thn)]
    loss, tloss = 0, 0
    for o, t in pairs:
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = rng.standard_normal(t.shape)
        loss = loss + (o * mt.tensor(g)).sum()
        tloss = tloss + (t * torch.tensor(g)).sum()
    loss.backward()
    tloss.backward()
    for o, t in [(x, tx), (h0, th0)] + ([(c0, tc0)] if cls == 'LSTM' else []):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_defaults_and_repr():
    lstm = nn.LSTM(3, 4, batch_first=True)
    out, (h, c) = lstm(mt.randn(2, 5, 3))
    assert out.shape == (2, 5, 4) and h.shape == (1, 2, 4) and c.shape == (1, 2, 4)
    assert repr(nn.GRU(3, 4, num_layers=2, batch_first=True)) == repr(
        torch.nn.GRU(3, 4, num_layers=2, batch_first=True))
    bound = 1 / np.sqrt(4)
    assert all(np.abs(p.detach().numpy()).max() <= bound for p in lstm.parameters())
    with pytest.raises(RuntimeError, match='input_size'):
        lstm(mt.randn(2, 5, 2))
