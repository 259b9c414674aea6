"""nn.functional beyond the core against PyTorch: shrink activations, transposed and 3-d
convolutions, pooling variants, interpolate, pixel shuffles, unfold/fold, distances,
group/instance/RMS norms and the remaining losses; forward and gradient in float64,
plus a float64 gradcheck of every differentiable row. The runner is tests/torch_diff.py."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_diff import Op, _values, ranked, torch_diff_test

import minitensor as mt


def F(L):
    return L.nn.functional


def fixed(*shapes_):
    return st.just(tuple(shapes_))


def image(n_min=1):
    """(N, C, H, W) with small sides."""
    return st.tuples(st.integers(n_min, 2), st.integers(1, 3), st.integers(1, 5), st.integers(1, 5))


def labels(L, shape, seed=0, values=(-1, 1)):
    rng = np.random.default_rng(seed + sum(shape))
    return L.tensor(rng.choice(values, size=shape).astype(np.float64))


def classes(L, n, c, seed=0):
    return L.tensor(np.random.default_rng(seed + n + c).integers(0, c, size=n).astype(np.int64))


NO_NAN = dict(nonfinite=False)
R1 = ranked(1)

TABLE = [
    # activations
    Op('hardshrink', lambda L, x: F(L).hardshrink(x, 0.4), kinks=(-0.4, 0.4)),
    Op('softshrink', lambda L, x: F(L).softshrink(x, 0.6), kinks=(-0.6, 0.6)),
    Op('rrelu_eval', lambda L, x: F(L).rrelu(x, 0.1, 0.3), kinks=(0,)),
    Op('softmin', lambda L, x: F(L).softmin(x, dim=-1), shapes=R1, **NO_NAN),
    Op('relu_inplace_fn', lambda L, x: F(L).relu_(x * 1.0)),
    Op('elu_inplace_fn', lambda L, x: F(L).elu_(x * 1.0, 0.5), kinks=(0,)),
    # transposed and 3-d convolution
    Op('conv_transpose2d', lambda L, x, w: F(L).conv_transpose2d(x, w), **NO_NAN,
       shapes=image().map(lambda s: (s, (s[1], 2, 2, 3)))),
    Op('conv_transpose2d_bias_stride_pad', lambda L, x, w, b: F(L).conv_transpose2d(
        x, w, b, stride=(2, 1), padding=1, output_padding=(1, 0)), **NO_NAN,
       shapes=image().map(lambda s: (s, (s[1], 3, 3, 3), (3,)))),
    Op('conv_transpose2d_groups_dilation', lambda L, x, w: F(L).conv_transpose2d(
        x, w, groups=2, dilation=(1, 2), stride=2), **NO_NAN,
       shapes=st.tuples(st.integers(1, 2), st.integers(1, 4), st.integers(1, 4)).map(
           lambda s: ((s[0], 4, s[1], s[2]), (4, 2, 2, 2)))),
    Op('conv_transpose1d', lambda L, x, w, b: F(L).conv_transpose1d(x, w, b, stride=3, padding=1), **NO_NAN,
       shapes=st.tuples(st.integers(1, 2), st.integers(1, 6)).map(lambda s: ((s[0], 2, s[1]), (2, 3, 4), (3,)))),
    Op('conv_transpose1d_unbatched', lambda L, x, w: F(L).conv_transpose1d(x, w), **NO_NAN,
       shapes=fixed((2, 5), (2, 1, 3))),
    Op('conv_transpose3d', lambda L, x, w: F(L).conv_transpose3d(x, w, stride=2), **NO_NAN,
       shapes=fixed((1, 2, 2, 3, 2), (2, 1, 2, 2, 2))),
    Op('conv_transpose2d_bad_output_padding', lambda L, x, w: F(L).conv_transpose2d(x, w, output_padding=1),
       shapes=fixed((1, 2, 3, 3), (2, 1, 2, 2)), **NO_NAN),
    Op('conv3d', lambda L, x, w: F(L).conv3d(x, w, padding=1, stride=(1, 2, 1)), **NO_NAN,
       shapes=fixed((2, 2, 3, 4, 3), (3, 2, 2, 3, 2))),
    # pooling
    Op('max_pool3d', lambda L, x: F(L).max_pool3d(x, 2, stride=1), shapes=fixed((1, 2, 3, 4, 3)), **NO_NAN),
    Op('avg_pool3d', lambda L, x: F(L).avg_pool3d(x, (2, 1, 2), padding=(1, 0, 1)), shapes=fixed((2, 1, 3, 4, 3))),
    Op('adaptive_avg_pool3d', lambda L, x: F(L).adaptive_avg_pool3d(x, (2, 1, 3)), shapes=fixed((1, 2, 3, 4, 5))),
    Op('adaptive_max_pool2d', lambda L, x: F(L).adaptive_max_pool2d(x, (2, 3)), **NO_NAN,
       shapes=image().filter(lambda s: s[2] >= 2 and s[3] >= 3).map(lambda s: (s,))),
    Op('adaptive_max_pool1d', lambda L, x: F(L).adaptive_max_pool1d(x, 3), shapes=fixed((2, 3, 7)), **NO_NAN),
    Op('lp_pool2d', lambda L, x: F(L).lp_pool2d(x, 2, 2), shapes=fixed((1, 2, 4, 5)), domain=(0.2, 2), **NO_NAN),
    Op('lp_pool1d', lambda L, x: F(L).lp_pool1d(x, 3, 2, stride=1), shapes=fixed((2, 2, 5)), domain=(0.2, 2),
       **NO_NAN),
    Op('max_unpool2d', lambda L, x: F(L).max_unpool2d(*F(L).max_pool2d(x, 2, return_indices=True), 2),
       shapes=fixed((2, 3, 4, 6)), **NO_NAN),
    Op('max_unpool2d_output_size', lambda L, x: F(L).max_unpool2d(
        *F(L).max_pool2d(x, 2, stride=2, return_indices=True), 2, output_size=(5, 7)),
       shapes=fixed((1, 2, 5, 7)), **NO_NAN),
    Op('max_unpool1d', lambda L, x: F(L).max_unpool1d(*F(L).max_pool1d(x, 3, return_indices=True), 3),
       shapes=fixed((2, 2, 9)), **NO_NAN),
    # interpolate
    Op('interpolate_nearest', lambda L, x: F(L).interpolate(x, size=(7, 3)), shapes=image().map(lambda s: (s,))),
    Op('interpolate_nearest_1d', lambda L, x: F(L).interpolate(x, size=9), shapes=fixed((2, 3, 13))),
    Op('interpolate_nearest_down', lambda L, x: F(L).interpolate(x, size=6), shapes=fixed((1, 2, 10))),
    Op('interpolate_nearest_scale', lambda L, x: F(L).interpolate(x, scale_factor=2), shapes=image().map(lambda s: (s,))),
    Op('interpolate_nearest_frac_scale', lambda L, x: F(L).interpolate(x, scale_factor=1.7),
       shapes=fixed((1, 2, 5, 3))),
    Op('interpolate_nearest_exact', lambda L, x: F(L).interpolate(x, size=(3, 6), mode='nearest-exact'),
       shapes=fixed((2, 1, 5, 4))),
    Op('interpolate_nearest_3d', lambda L, x: F(L).interpolate(x, size=(3, 6, 4)), shapes=fixed((2, 3, 5, 2, 8))),
    Op('interpolate_linear', lambda L, x: F(L).interpolate(x, size=29, mode='linear'), shapes=fixed((2, 3, 52))),
    Op('interpolate_linear_up', lambda L, x: F(L).interpolate(x, size=52, mode='linear'), shapes=fixed((2, 3, 29))),
    Op('interpolate_linear_aligned', lambda L, x: F(L).interpolate(x, size=11, mode='linear', align_corners=True),
       shapes=fixed((2, 3, 7))),
    Op('interpolate_bilinear', lambda L, x: F(L).interpolate(x, size=(9, 7), mode='bilinear'),
       shapes=image().map(lambda s: (s,))),
    Op('interpolate_bilinear_aligned', lambda L, x: F(L).interpolate(x, size=(9, 1), mode='bilinear',
                                                                      align_corners=True),
       shapes=image().map(lambda s: (s,))),
    Op('interpolate_bilinear_scale', lambda L, x: F(L).interpolate(x, scale_factor=(1.5, 0.5), mode='bilinear'),
       shapes=fixed((1, 2, 4, 6))),
    Op('interpolate_trilinear', lambda L, x: F(L).interpolate(x, size=(3, 6, 4), mode='trilinear'),
       shapes=fixed((2, 1, 5, 2, 8))),
    Op('interpolate_bicubic', lambda L, x: F(L).interpolate(x, size=(7, 3), mode='bicubic'),
       shapes=image().map(lambda s: (s,))),
    Op('interpolate_bicubic_aligned_scale', lambda L, x: F(L).interpolate(x, scale_factor=1.5, mode='bicubic',
                                                                           align_corners=True),
       shapes=fixed((1, 2, 4, 5))),
    Op('interpolate_size_and_scale_raises', lambda L, x: F(L).interpolate(x, size=4, scale_factor=2),
       shapes=fixed((1, 2, 3))),
    Op('interpolate_area', lambda L, x: F(L).interpolate(x, size=(2, 3), mode='area'), shapes=fixed((1, 2, 5, 7))),
    Op('interpolate_bad_mode', lambda L, x: F(L).interpolate(x, size=3, mode='cubic'), shapes=fixed((1, 2, 5))),
    Op('upsample_bilinear', lambda L, x: F(L).upsample_bilinear(x, scale_factor=2), shapes=fixed((1, 2, 3, 4))),
    # rearrangements
    Op('pixel_shuffle', lambda L, x: F(L).pixel_shuffle(x, 2), shapes=fixed((2, 8, 3, 2))),
    Op('pixel_unshuffle', lambda L, x: F(L).pixel_unshuffle(x, 2), shapes=fixed((1, 2, 4, 6))),
    Op('pixel_shuffle_bad', lambda L, x: F(L).pixel_shuffle(x, 2), shapes=fixed((1, 3, 2, 2))),
    Op('channel_shuffle', lambda L, x: F(L).channel_shuffle(x, 3), shapes=fixed((2, 6, 2))),
    Op('unfold_im2col', lambda L, x: F(L).unfold(x, (2, 3), padding=1, stride=(1, 2)), shapes=image().map(lambda s: (s,))),
    Op('unfold_dilation', lambda L, x: F(L).unfold(x, 2, dilation=2), shapes=fixed((1, 2, 5, 6))),
    Op('fold', lambda L, x: F(L).fold(x, (4, 5), (2, 3), padding=1, stride=(1, 2)), shapes=fixed((2, 12, 15))),
    Op('fold_dilation', lambda L, x: F(L).fold(x, (5, 6), 2, dilation=2), shapes=fixed((1, 8, 12))),
    Op('tensor_unfold', lambda L, x: x.unfold(-1, 2, 1), shapes=ranked(1).filter(lambda s: s[0][-1] >= 2)),
    Op('tensor_unfold_step', lambda L, x: x.unfold(0, 1, 2), shapes=ranked(1).filter(lambda s: s[0][0] >= 1)),
    Op('tensor_unfold_too_big', lambda L, x: x.unfold(0, 9, 3), shapes=fixed((8,))),
    Op('tensor_unfold_bad_dim', lambda L, x: x.unfold(1, 8, 3), shapes=fixed((8,))),
    # distances
    Op('pairwise_distance', lambda L, a, b: F(L).pairwise_distance(a, b), shapes=fixed((4, 3), (4, 3)), **NO_NAN),
    Op('pairwise_distance_p1', lambda L, a, b: F(L).pairwise_distance(a, b, p=1, keepdim=True),
       shapes=fixed((2, 5), (1, 5)), **NO_NAN),
    Op('pdist', lambda L, x: F(L).pdist(x), shapes=st.tuples(st.tuples(st.integers(2, 5), st.integers(1, 3))),
       **NO_NAN),
    Op('cosine_similarity', lambda L, a, b: F(L).cosine_similarity(a, b, dim=-1), shapes=fixed((3, 4), (3, 4)),
       **NO_NAN),
    Op('bilinear', lambda L, a, b, w, bias: F(L).bilinear(a, b, w, bias),
       shapes=fixed((4, 3), (4, 2), (5, 3, 2), (5,)), **NO_NAN),
    # normalization
    Op('group_norm', lambda L, x, w, b: F(L).group_norm(x, 2, w, b), shapes=fixed((2, 4, 3, 2), (4,), (4,)),
       **NO_NAN),
    Op('group_norm_no_affine', lambda L, x: F(L).group_norm(x, 3), shapes=fixed((2, 6, 5)), **NO_NAN),
    Op('instance_norm', lambda L, x, w, b: F(L).instance_norm(x, weight=w, bias=b), shapes=fixed((2, 3, 4, 2), (3,), (3,)),
       **NO_NAN),
    Op('rms_norm', lambda L, x, w: F(L).rms_norm(x, (4,), w), shapes=fixed((3, 4), (4,)), **NO_NAN),
    Op('rms_norm_eps', lambda L, x: F(L).rms_norm(x, (2, 3), eps=1e-3), shapes=fixed((4, 2, 3)), **NO_NAN),
    Op('local_response_norm', lambda L, x: F(L).local_response_norm(x, 3), shapes=fixed((2, 5, 4)), **NO_NAN),
    Op('local_response_norm_4d', lambda L, x: F(L).local_response_norm(x, 2, alpha=0.1, k=2.0),
       shapes=fixed((2, 4, 3, 2)), **NO_NAN),
    # losses
    Op('margin_ranking_loss', lambda L, a, b: F(L).margin_ranking_loss(a, b, labels(L, a.shape), margin=0.3),
       shapes=fixed((6,), (6,)), **NO_NAN),
    Op('hinge_embedding_loss', lambda L, x: F(L).hinge_embedding_loss(x, labels(L, x.shape), reduction='sum'),
       shapes=fixed((3, 4)), kinks=(1,), **NO_NAN),
    Op('soft_margin_loss', lambda L, x: F(L).soft_margin_loss(x, labels(L, x.shape)), shapes=fixed((5,)), **NO_NAN),
    Op('multilabel_soft_margin_loss', lambda L, x: F(L).multilabel_soft_margin_loss(
        x, labels(L, x.shape, values=(0, 1))), shapes=fixed((3, 4)), **NO_NAN),
    Op('cosine_embedding_loss', lambda L, a, b: F(L).cosine_embedding_loss(a, b, labels(L, (a.shape[0],)),
                                                                         margin=0.1),
       shapes=fixed((4, 3), (4, 3)), **NO_NAN),
    Op('triplet_margin_loss', lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n, swap=True),
       shapes=fixed((4, 3), (4, 3), (4, 3)), **NO_NAN),
    Op('poisson_nll_loss', lambda L, x, t: F(L).poisson_nll_loss(x, t.abs() * 2, full=True),
       shapes=fixed((3, 4), (3, 4)), **NO_NAN),
    Op('poisson_nll_loss_no_log', lambda L, x, t: F(L).poisson_nll_loss(x, t, log_input=False),
       domain=((0.1, 3), (0, 3)), shapes=fixed((5,), (5,)), **NO_NAN),
    Op('gaussian_nll_loss', lambda L, x, t, v: F(L).gaussian_nll_loss(x, t, v), domain=((-2, 2), (-2, 2), (0.1, 2)),
       shapes=fixed((4, 3), (4, 3), (4, 3)), **NO_NAN),
    Op('gaussian_nll_loss_homoscedastic', lambda L, x, t, v: F(L).gaussian_nll_loss(x, t, v, full=True,
                                                                                    reduction='sum'),
       domain=((-2, 2), (-2, 2), (0.1, 2)), shapes=fixed((4, 3), (4, 3), (4, 1)), **NO_NAN),
    Op('multi_margin_loss', lambda L, x: F(L).multi_margin_loss(x, classes(L, 4, 5)), shapes=fixed((4, 5)), **NO_NAN),
    Op('multi_margin_loss_p2_weight', lambda L, x: F(L).multi_margin_loss(
        x, classes(L, 3, 4), p=2, weight=L.tensor([0.5, 1.0, 2.0, 0.25], dtype=L.float64), margin=0.5),
       shapes=fixed((3, 4)), **NO_NAN),
]

test_against_torch = torch_diff_test(TABLE)


@pytest.mark.parametrize('op', [op for op in TABLE if op.grad and 'float64' in op.dtypes
                                and not op.name.endswith(('_bad', '_bad_mode', '_bad_output_padding',
                                                          '_too_big', '_bad_dim', '_raises'))],
                         ids=lambda op: op.name)
@settings(max_examples=2, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2 ** 32 - 1), data=st.data())
def test_gradcheck(op, seed, data):
    """mt.gradcheck (float64 central differences) on every differentiable row, finite inputs."""
    shapes_ = data.draw(op.shapes)
    rng = np.random.default_rng(seed)
    inputs = [mt.from_numpy(_values(rng, s, d, dom, op.kinks, False))
              for s, d, dom in zip(shapes_, op.dtypes, op.domain)]
    for t in inputs:
        t.requires_grad_(True)
    with np.errstate(all='ignore'):
        assert mt.gradcheck(lambda *xs: op.fn(mt, *xs), tuple(inputs))

