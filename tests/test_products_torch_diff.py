"""Products, differences, rotations, statistics and searching added beside the core, against
PyTorch: forward and gradient in float64 (tests/torch_diff.py's runner), plus gradcheck."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_diff import Op, _values, ranked, shapes, torch_diff_test

import minitensor as mt

NO_NAN = dict(nonfinite=False)
side = st.integers(0, 3)
pos = st.integers(1, 3)


def fixed(*s):
    return st.just(tuple(s))


def sorted_rows(L, x):
    return x.sort(-1).values


TABLE = [
    Op('mm', lambda L, a, b: L.mm(a, b), shapes=st.tuples(side, side, side).map(lambda s: ((s[0], s[1]), (s[1], s[2])))),
    Op('mm_bad', lambda L, a, b: a.mm(b), shapes=fixed((2, 3), (3,))),
    Op('bmm', lambda L, a, b: L.bmm(a, b), shapes=st.tuples(side, side, side, side).map(
        lambda s: ((s[0], s[1], s[2]), (s[0], s[2], s[3])))),
    Op('bmm_batch_mismatch', lambda L, a, b: a.bmm(b), shapes=fixed((2, 2, 3), (3, 3, 2))),
    Op('mv', lambda L, a, b: L.mv(a, b), shapes=st.tuples(side, side).map(lambda s: ((s[0], s[1]), (s[1],)))),
    Op('dot', lambda L, a, b: L.dot(a, b), shapes=side.map(lambda n: ((n,), (n,)))),
    Op('dot_size_mismatch', lambda L, a, b: a.dot(b), shapes=fixed((3,), (2,))),
    Op('vdot', lambda L, a, b: L.vdot(a, b), shapes=side.map(lambda n: ((n,), (n,)))),
    Op('inner', lambda L, a, b: L.inner(a, b), shapes=st.tuples(shapes(0, 2), shapes(0, 2), pos).map(
        lambda s: (s[0] + (s[2],), s[1] + (s[2],)))),
    Op('tensordot_int', lambda L, a, b: L.tensordot(a, b, 2), shapes=st.tuples(pos, pos, pos, pos).map(
        lambda s: ((s[0], s[1], s[2]), (s[1], s[2], s[3])))),
    Op('tensordot_lists', lambda L, a, b: L.tensordot(a, b, ([0, 2], [1, 0])), shapes=fixed((2, 3, 4), (4, 2, 5))),
    Op('kron', lambda L, a, b: L.kron(a, b), shapes=st.tuples(shapes(0, 3, 0, 3), shapes(0, 3, 0, 3))),
    Op('cross', lambda L, a, b: L.cross(a, b, dim=-1), shapes=shapes(0, 2).map(lambda s: (s + (3,), s + (3,)))),
    Op('cross_default_dim', lambda L, a, b: a.cross(b), shapes=fixed((2, 3, 3), (1, 3, 3))),
    Op('linalg_cross', lambda L, a, b: L.linalg.cross(a, b), shapes=fixed((4, 3), (4, 3))),
    Op('diff', lambda L, x: x.diff(), shapes=ranked(1)),
    Op('diff_n2_dim0', lambda L, x: L.diff(x, n=2, dim=0), shapes=ranked(1)),
    Op('diff_prepend_append', lambda L, x, p, a: L.diff(x, dim=-1, prepend=p, append=a),
       shapes=shapes(1, 2, 1).map(lambda s: (s, s[:-1] + (2,), s[:-1] + (1,)))),
    Op('diff_bool', lambda L, x: (x > 0).diff(), shapes=ranked(1), grad=False),
    Op('rot90', lambda L, x: L.rot90(x), shapes=ranked(2)),
    Op('rot90_k3_dims', lambda L, x: x.rot90(3, (2, 0)), shapes=ranked(3)),
    Op('rot90_k2_negative', lambda L, x: x.rot90(-2, (0, 1)), shapes=ranked(2)),
    Op('addmm', lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=2.0), shapes=fixed((3,), (2, 4), (4, 3))),
    Op('addmm_beta0_nan', lambda L, c, a, b: (c * float('nan')).addmm(a, b, beta=0), shapes=fixed((2, 3), (2, 4), (4, 3)),
       grad=False),              # NaN in input is ignored when beta == 0
    Op('addmm_beta0', lambda L, c, a, b: c.addmm(a, b, beta=0), shapes=fixed((2, 3), (2, 4), (4, 3))),
    Op('addmv', lambda L, c, a, b: L.addmv(c, a, b, alpha=-1), shapes=fixed((2,), (2, 4), (4,))),
    Op('baddbmm', lambda L, c, a, b: L.baddbmm(c, a, b, beta=2), shapes=fixed((1, 2, 3), (2, 2, 4), (2, 4, 3))),
    Op('addbmm', lambda L, c, a, b: L.addbmm(c, a, b), shapes=fixed((2, 3), (2, 2, 4), (2, 4, 3))),
    Op('addr', lambda L, c, a, b: L.addr(c, a, b), shapes=fixed((2, 3), (2,), (3,))),
    Op('matrix_power_3', lambda L, x: L.matrix_power(x, 3), shapes=side.map(lambda n: ((2, n, n),)), **NO_NAN),
    Op('matrix_power_0', lambda L, x: x.matrix_power(0), shapes=fixed((3, 3)), grad=False),
    # every row keeps a number (an all-NaN row's gradient is NaN in torch, 0 here; its value is NaN in both)
    Op('nanmean', lambda L, x: L.nanmean(L.cat([x.masked_fill(x > 1, float('nan')), x[..., :1] * 0], -1), -1),
       shapes=ranked(1), **NO_NAN),
    Op('nanmean_all_nan_rows', lambda L, x: L.nanmean(x, -1), shapes=ranked(1), grad=False),
    Op('nanmean_all', lambda L, x: x.nanmean()),
    Op('quantile', lambda L, x: L.quantile(x, 0.3, dim=-1), shapes=ranked(1).filter(lambda s: min(s[0]) > 0),
       **NO_NAN),
    Op('quantile_all_keepdim', lambda L, x: x.quantile(0.75, keepdim=True), shapes=fixed((3, 4)), **NO_NAN),
    Op('quantile_tensor_q', lambda L, x: x.quantile(L.tensor([0.1, 0.5, 0.9], dtype=L.float64), dim=0, keepdim=True),
       shapes=fixed((5, 3)), **NO_NAN),
    Op('quantile_modes', lambda L, x: [x.quantile(0.4, 1, interpolation=m) for m in
                                       ('lower', 'higher', 'midpoint', 'nearest')], shapes=fixed((3, 6)), **NO_NAN),
    Op('quantile_nan', lambda L, x: x.quantile(0.5, dim=-1), shapes=fixed((4, 5)), grad=False),
    Op('nanquantile', lambda L, x: L.nanquantile(x, 0.5, dim=-1), shapes=fixed((4, 5)), grad=False),
    Op('quantile_bad_q', lambda L, x: x.quantile(1.5), shapes=fixed((3,))),
    Op('ravel', lambda L, x: L.ravel(x.transpose(0, -1) if x.ndim else x)),
    Op('isin', lambda L, x: L.isin(x.round(), L.tensor([0.0, 1.0], dtype=L.float64)), grad=False),
    Op('gcd', lambda L, a, b: L.gcd(a, b), dtypes='int64', domain=(-12, 12), grad=False),
    Op('lcm', lambda L, a, b: a.lcm(b), dtypes='int64', domain=(-12, 12), grad=False),
    Op('frexp', lambda L, x: L.frexp(x), grad=False),
    Op('cartesian_prod', lambda L, a, b: L.cartesian_prod(a, b), shapes=st.tuples(shapes(1, 1), shapes(1, 1))),
    Op('block_diag', lambda L, a, b, c: L.block_diag(a, b, c), shapes=fixed((2, 3), (1,), ())),
    # torch cannot differentiate vander (its backward meets its own in-place op): forward only
    Op('vander', lambda L, x: L.vander(x, 4), shapes=fixed((5,)), grad=False, **NO_NAN),
    Op('vander_increasing', lambda L, x: L.vander(x, increasing=True), shapes=fixed((3,)), grad=False, **NO_NAN),
    Op('cov', lambda L, x: L.cov(x), shapes=fixed((3, 5)), **NO_NAN),
    Op('cov_correction0_1d', lambda L, x: L.cov(x, correction=0), shapes=fixed((4,)), **NO_NAN),
    Op('corrcoef', lambda L, x: L.corrcoef(x), shapes=fixed((3, 6)), **NO_NAN),
    Op('trapezoid', lambda L, y: L.trapezoid(y), shapes=ranked(1)),
    Op('trapezoid_x', lambda L, y, x: L.trapezoid(y, x, dim=0), shapes=fixed((4, 2), (4, 2))),
    Op('trapezoid_dx', lambda L, y: L.trapz(y, dx=0.5) if hasattr(L, 'trapz') else None, shapes=fixed((3, 4))),
    Op('cumulative_trapezoid', lambda L, y: L.cumulative_trapezoid(y, dim=0), shapes=fixed((4, 3))),
    Op('searchsorted', lambda L, s, v: L.searchsorted(sorted_rows(L, s), v), shapes=fixed((6,), (3, 4)),
       grad=False, **NO_NAN),
    Op('searchsorted_rows_right', lambda L, s, v: L.searchsorted(sorted_rows(L, s), v.round(), right=True),
       shapes=fixed((2, 5), (2, 3)), grad=False, **NO_NAN),
    Op('searchsorted_side_int32', lambda L, s, v: L.searchsorted(sorted_rows(L, s), v, side='right', out_int32=True),
       shapes=fixed((5,), (4,)), grad=False, **NO_NAN),
    Op('bucketize', lambda L, x, b: L.bucketize(x, sorted_rows(L, b)), shapes=fixed((3, 4), (5,)), grad=False, **NO_NAN),
    Op('bucketize_right', lambda L, x, b: L.bucketize(x.round(), sorted_rows(L, b).round(), right=True),
       shapes=fixed((7,), (4,)), grad=False, **NO_NAN),
    Op('normal_tensors_shape', lambda L, m, s: L.normal(m, s.abs()).shape == m.shape, shapes=fixed((2, 3), (2, 3)),
       grad=False, **NO_NAN),
    Op('conv2d_top_level', lambda L, x, w: L.conv2d(x, w, padding=1), shapes=fixed((1, 2, 4, 4), (3, 2, 3, 3))),
    Op('pixel_shuffle_top_level', lambda L, x: L.pixel_shuffle(x, 2), shapes=fixed((1, 4, 2, 2))),
    Op('cosine_similarity_top_level', lambda L, a, b: L.cosine_similarity(a, b), shapes=fixed((3, 4), (3, 4)), **NO_NAN),
]

test_against_torch = torch_diff_test(TABLE)


@pytest.mark.parametrize('op', [op for op in TABLE if op.grad and 'float64' in op.dtypes
                                and not op.name.endswith(('_bad', '_mismatch', '_bad_q', '_nan'))
                                and op.name not in ('normal_tensors_shape',)],
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


def well_conditioned(L, a):
    """a + 4 I: safely invertible for entries in [-2, 2]... of small size."""
    return a + 4 * L.eye(a.shape[-1], dtype=a.dtype)


LINALG = [
    Op('linalg_inv', lambda L, a: L.linalg.inv(well_conditioned(L, a)), shapes=fixed((2, 3, 3)), **NO_NAN),
    Op('inverse', lambda L, a: L.inverse(well_conditioned(L, a)), shapes=fixed((3, 3)), **NO_NAN),
    Op('linalg_det', lambda L, a: L.linalg.det(a), shapes=fixed((2, 3, 3)), **NO_NAN),
    Op('det', lambda L, a: L.det(well_conditioned(L, a)), shapes=fixed((4, 4)), **NO_NAN),
    Op('slogdet', lambda L, a: L.linalg.slogdet(a), shapes=fixed((2, 3, 3)), **NO_NAN),
    Op('logdet', lambda L, a: L.logdet(well_conditioned(L, a)), shapes=fixed((3, 3)), **NO_NAN),
    Op('solve', lambda L, a, b: L.linalg.solve(well_conditioned(L, a), b), shapes=fixed((3, 3), (3, 2)), **NO_NAN),
    Op('solve_vector_broadcast', lambda L, a, b: L.linalg.solve(well_conditioned(L, a), b),
       shapes=fixed((2, 3, 3), (3,)), **NO_NAN),
    Op('solve_not_square', lambda L, a, b: L.linalg.solve(a, b), shapes=fixed((2, 3), (2,))),
    Op('linalg_vector_norm', lambda L, x: L.linalg.vector_norm(x, 3, dim=-1), shapes=ranked(1), kinks=(0,)),
    Op('linalg_vector_norm_all', lambda L, x: L.linalg.vector_norm(x), **NO_NAN),
    Op('linalg_matrix_norm', lambda L, x: L.linalg.matrix_norm(x), shapes=fixed((2, 3, 4)), **NO_NAN),
    Op('linalg_matrix_norm_1_inf', lambda L, x: [L.linalg.matrix_norm(x, 1), L.linalg.matrix_norm(x, float('inf'))],
       shapes=fixed((3, 4)), kinks=(0,), **NO_NAN),
    Op('linalg_norm', lambda L, x: [L.linalg.norm(x), L.linalg.norm(x, dim=-1)], shapes=fixed((3, 4)), **NO_NAN),
    Op('multi_dot', lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), shapes=fixed((3,), (3, 4), (4, 2))),
    Op('vecdot', lambda L, a, b: L.linalg.vecdot(a, b), shapes=fixed((2, 3), (2, 3))),
]

test_linalg_against_torch = torch_diff_test(LINALG)
