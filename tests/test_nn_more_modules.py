"""The added nn modules against torch's: the same parameter names (state_dicts carry over),
the same outputs and parameter gradients in float64 once torch's weights are copied in."""
import numpy as np
import pytest

import minitensor as mt

torch = pytest.importorskip('torch')


def _sync(tm, mm):
    tn, mn = dict(tm.named_parameters()), dict(mm.named_parameters())
    assert list(tn) == list(mn)
    for k in tn:
        assert tuple(mn[k].shape) == tuple(tn[k].shape), k
        mn[k].data.copy_(mt.tensor(tn[k].detach().numpy()))


def _check(tm, mm, *arrays, **kwargs):
    _sync(tm, mm)
    t_out = tm(*[torch.tensor(a) for a in arrays], **kwargs)
    m_out = mm(*[mt.tensor(a) for a in arrays], **kwargs)
    t_out = t_out[0] if isinstance(t_out, tuple) else t_out
    m_out = m_out[0] if isinstance(m_out, tuple) else m_out
    np.testing.assert_allclose(m_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    seed = np.random.default_rng(0).standard_normal(tuple(t_out.shape))
    (t_out * torch.tensor(seed)).sum().backward()
    (m_out * mt.tensor(seed)).sum().backward()
    for (name, p), q in zip(tm.named_parameters(), mm.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


rng = np.random.default_rng(0)
X = rng.standard_normal((4, 2, 8))
F64 = dict(dtype=mt.float64)

CASES = [
    ('mha', lambda L, **k: L.nn.MultiheadAttention(8, 2, **k), (X, X, X), {}),
    ('mha_kdim_bias_kv_zero_attn_batch_first',
     lambda L, **k: L.nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=5,
                                            batch_first=True, **k),
     (X, rng.standard_normal((4, 3, 3)), rng.standard_normal((4, 3, 5))), {}),
    ('encoder', lambda L, **k: L.nn.TransformerEncoder(L.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **k), 2),
     (X,), {}),
    ('encoder_norm_first_gelu', lambda L, **k: L.nn.TransformerEncoderLayer(8, 2, 16, 0.0, 'gelu', norm_first=True,
                                                                             batch_first=True, **k), (X,), {}),
    ('decoder_layer', lambda L, **k: L.nn.TransformerDecoderLayer(8, 4, 16, dropout=0.0, **k), (X, X[:3]), {}),
    ('lstm_cell', lambda L, **k: L.nn.LSTMCell(8, 5, **k), (X[0],), {}),
    ('gru_cell', lambda L, **k: L.nn.GRUCell(8, 5, **k), (X[0],), {}),
    ('rnn_cell_relu_unbatched', lambda L, **k: L.nn.RNNCell(8, 5, nonlinearity='relu', **k), (X[0, 0],), {}),
    ('lstm_proj', lambda L, **k: L.nn.LSTM(8, 6, num_layers=2, proj_size=3, bidirectional=True, **k), (X,), {}),
    ('conv_transpose2d_output_size', lambda L, **k: L.nn.ConvTranspose2d(2, 4, 3, stride=2, **k),
     (rng.standard_normal((1, 2, 3, 3)),), {'output_size': (8, 8)}),
    ('conv_transpose1d', lambda L, **k: L.nn.ConvTranspose1d(2, 4, 3, stride=2, padding=1, groups=2, **k),
     (rng.standard_normal((2, 2, 5)),), {}),
    ('conv3d', lambda L, **k: L.nn.Conv3d(2, 3, 2, padding=1, **k), (rng.standard_normal((1, 2, 3, 3, 2)),), {}),
    ('group_norm', lambda L, **k: L.nn.GroupNorm(2, 4, **k), (rng.standard_normal((2, 4, 3)),), {}),
    ('instance_norm_affine', lambda L, **k: L.nn.InstanceNorm2d(4, affine=True, **k),
     (rng.standard_normal((2, 4, 3, 2)),), {}),
    ('rms_norm', lambda L, **k: L.nn.RMSNorm(8, **k), (X,), {}),
    ('bilinear', lambda L, **k: L.nn.Bilinear(3, 4, 5, **k), (rng.standard_normal((2, 3)), rng.standard_normal((2, 4))),
     {}),
]


@pytest.mark.parametrize('name, make, arrays, kwargs', CASES, ids=[c[0] for c in CASES])
def test_module_matches_torch(name, make, arrays, kwargs):
    _check(make(torch, dtype=torch.float64).eval(), make(mt, **F64).eval(), *arrays, **kwargs)


def test_transformer_with_causal_mask_matches_torch():
    tm = torch.nn.Transformer(8, 2, 1, 1, 16, 0.0, batch_first=True, dtype=torch.float64)
    mm = mt.nn.Transformer(8, 2, 1, 1, 16, 0.0, batch_first=True, **F64)
    _sync(tm, mm)
    t_mask = torch.nn.Transformer.generate_square_subsequent_mask(2, dtype=torch.float64)
    m_mask = mt.nn.Transformer.generate_square_subsequent_mask(2, dtype=mt.float64)
    np.testing.assert_array_equal(m_mask.numpy(), t_mask.numpy())
    a = tm(torch.tensor(X), torch.tensor(X), tgt_mask=t_mask)
    b = mm(mt.tensor(X), mt.tensor(X), tgt_mask=m_mask)
    np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_mha_masks_and_weights_match_torch():
    tm = torch.nn.MultiheadAttention(8, 2, dtype=torch.float64)
    mm = mt.nn.MultiheadAttention(8, 2, **F64)
    _sync(tm, mm)
    bool_mask = np.triu(np.ones((4, 4), bool), 1)
    pad = np.array([[False, False, False, True], [False, False, False, False]])
    for avg in (True, False):
        t_out, t_w = tm(*[torch.tensor(X)] * 3, attn_mask=torch.tensor(bool_mask),
                        key_padding_mask=torch.tensor(pad), average_attn_weights=avg)
        m_out, m_w = mm(*[mt.tensor(X)] * 3, attn_mask=mt.tensor(bool_mask),
                        key_padding_mask=mt.tensor(pad), average_attn_weights=avg)
        np.testing.assert_allclose(m_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(m_w.detach().numpy(), t_w.detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match='is_causal'):
        mm(*[mt.tensor(X)] * 3, is_causal=True)


def test_rnn_proj_size_errors_as_torch():
    with pytest.raises(ValueError, match='only supported for LSTM'):
        mt.nn.GRU(4, 6, proj_size=2)
    with pytest.raises(ValueError, match='smaller than hidden_size'):
        mt.nn.LSTM(4, 6, proj_size=6)


@pytest.mark.parametrize('name, args, shape, out_shape', [
    ('ReflectionPad2d', (1,), (1, 1, 3, 3), (1, 1, 5, 5)),
    ('ReplicationPad1d', ((2, 0),), (1, 2, 3), (1, 2, 5)),
    ('ZeroPad2d', ((1, 0, 2, 0),), (1, 3, 3), (1, 5, 4)),
    ('CircularPad1d', (1,), (1, 1, 4), (1, 1, 6)),
    ('ConstantPad3d', (1, 2.5), (1, 1, 1, 1), (1, 3, 3, 3)),
    ('Upsample', ((4, 6),), (1, 2, 2, 3), (1, 2, 4, 6)),
    ('UpsamplingBilinear2d', (None, 2), (1, 2, 2, 3), (1, 2, 4, 6)),
    ('PixelShuffle', (2,), (1, 8, 2, 3), (1, 2, 4, 6)),
    ('PixelUnshuffle', (2,), (1, 2, 4, 6), (1, 8, 2, 3)),
    ('Unfold', ((2, 2),), (1, 3, 4, 4), (1, 12, 9)),
    ('AdaptiveMaxPool2d', ((2, 2),), (1, 3, 5, 5), (1, 3, 2, 2)),
    ('Softmin', (1,), (2, 3), (2, 3)),
    ('Softmax2d', (), (2, 3, 2, 2), (2, 3, 2, 2)),
    ('Hardshrink', (), (2, 3), (2, 3)),
    ('Softshrink', (0.2,), (2, 3), (2, 3)),
    ('RReLU', (), (2, 3), (2, 3)),
    ('Dropout2d', (0.5,), (2, 3, 2, 2), (2, 3, 2, 2)),
    ('AlphaDropout', (0.2,), (2, 3), (2, 3)),
    ('LocalResponseNorm', (2,), (2, 3, 4), (2, 3, 4)),
])
def test_layer_shapes_and_values_match_torch(name, args, shape, out_shape):
    x = rng.standard_normal(shape)
    tm, mm = getattr(torch.nn, name)(*args).eval(), getattr(mt.nn, name)(*args).eval()
    expected = tm(torch.tensor(x))
    got = mm(mt.tensor(x))
    assert tuple(got.shape) == out_shape == tuple(expected.shape)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_channel_dropout_zeroes_whole_channels_and_scales():
    mt.manual_seed(0)
    y = mt.nn.Dropout2d(0.5)(mt.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()          # a channel is kept or dropped whole
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8


def test_rrelu_training_slopes_lie_in_range():
    mt.manual_seed(0)
    x = -mt.ones(1000)
    slopes = -mt.nn.functional.rrelu(x, 0.1, 0.3, training=True).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03


@pytest.mark.parametrize('affine,track', [(True, True), (False, True), (True, False), (False, False)])
def test_instance_norm_state_dict_keys_are_torchs(affine, track):
    """InstanceNorm shares BatchNorm's setup (torch's _NormBase): num_batches_tracked too."""
    torch = pytest.importorskip('torch')
    ours = mt.nn.InstanceNorm1d(3, affine=affine, track_running_stats=track)
    theirs = torch.nn.InstanceNorm1d(3, affine=affine, track_running_stats=track)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.load_state_dict({k: mt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
