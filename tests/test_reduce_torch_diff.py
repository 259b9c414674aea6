"""Reductions, scans, sorting, gather/scatter, shape and creation ops against PyTorch:
forward (values, dtype, index results) and gradients, float64, on hypothesis shapes with
zero-size dims, non-contiguous views and NaN/inf. The runner is tests/torch_diff.py;
one line per op. Where torch raises, minitensor must raise the same exception class."""
import math

import numpy as np
import pytest
from hypothesis import strategies as st
from torch_diff import Op, ranked, shapes, torch_diff_test

INF = math.inf
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def index(L, shape, high, seed=0):
    """The same random int64 index on both sides, values in [0, high)."""
    rng = np.random.default_rng(seed + sum(shape) * 31 + len(shape))
    if high == 0:
        shape = tuple(0 if i == 0 else n for i, n in enumerate(shape)) if shape else shape
    values = rng.integers(0, max(high, 1), size=shape) if high else np.zeros(shape, dtype=np.int64)
    return L.tensor(np.asarray(values, dtype=np.int64))


def along(x, dim, size=None):
    """An index for gather/scatter along dim: x's shape, with dim's size changed to `size`."""
    d = dim % x.ndim
    return tuple(size if i == d and size is not None else n for i, n in enumerate(x.shape)), x.shape[d]


def gather_index(L, x, dim, size=None, seed=0):
    shape, high = along(x, dim, size)
    if high == 0:
        shape = tuple(0 if i == dim % x.ndim else n for i, n in enumerate(shape))
    return index(L, shape, high, seed)


def unique_rows_index(L, x, dim):
    """A permutation of dim's positions (no repeats: scatter/index_copy write each place once)."""
    n = x.shape[dim % x.ndim]
    rng = np.random.default_rng(n)
    return L.tensor(rng.permutation(n).astype(np.int64))


def scatter_perm_index(L, x, dim):
    """A gather-shaped index whose values along dim are a permutation per row (no repeats)."""
    d = dim % x.ndim
    rng = np.random.default_rng(x.ndim + 7 * x.shape[d])
    base = np.argsort(rng.random(x.shape), axis=d).astype(np.int64)
    return L.tensor(base)


def mask(L, x, seed=0):
    return L.tensor(np.random.default_rng(seed + x.numel()).random(tuple(x.shape)) < 0.5)


def zeros_in(L, x):
    """x with about a third of its entries set to exactly 0 (prod/cumprod at zeros)."""
    return L.where(x.abs() < 0.7, L.zeros_like(x), x)


def ties(x):
    """x with many exact ties (every value beyond +-0.5 becomes +-0.5); gradient still flows."""
    return x.clamp(-0.5, 0.5)


def ints(low, high):
    return dict(dtypes='int64', domain=(low, high), grad=False)


R1, R2, R3 = ranked(1), ranked(2), ranked(3)
NON_EMPTY1 = ranked(1).filter(lambda s: all(n > 0 for n in s[0]))
VEC = st.tuples(shapes(1, 1))
TWO_VECS = st.tuples(shapes(1, 1), shapes(1, 1))
MATRIX = st.tuples(shapes(2, 2))
NE1, NE2 = st.tuples(shapes(1, 3, 1)), st.tuples(shapes(2, 3, 1))   # torch's scatter backward fails on empty
NO_NAN = dict(nonfinite=False)

TABLE = [
    # ---- sums and means, axis= / keepdims= aliases, empty inputs
    Op('sum_axis', lambda L, x: x.sum(axis=-1, keepdims=True), shapes=R1),
    Op('sum_tuple', lambda L, x: L.sum(x, dim=(0, -1)), shapes=R2),
    Op('sum_all_empty_ok', lambda L, x: x.sum()),
    Op('mean_dim', lambda L, x: x.mean(0), shapes=R1),
    Op('mean_axis', lambda L, x: L.mean(x, axis=-1, keepdim=True), shapes=R1),
    Op('nansum', lambda L, x: L.nansum(x, -1), shapes=R1),
    Op('var_default', lambda L, x: x.var(-1), shapes=R1),
    Op('var_correction0', lambda L, x: x.var(dim=0, correction=0), shapes=R1),
    Op('var_correction2', lambda L, x: L.var(x, (0, -1), correction=2, keepdim=True), shapes=R2),
    Op('var_all', lambda L, x: x.var()),
    Op('std_unbiased_false', lambda L, x: x.std(-1, unbiased=False), shapes=R1),
    Op('std_all', lambda L, x: x.std()),
    Op('std_axis', lambda L, x: x.std(axis=0, keepdim=True), shapes=R1),
    Op('std_constant', lambda L, x: (x * 0 + 1.5).std(-1), shapes=R1, **NO_NAN),
    Op('var_constant', lambda L, x: (x * 0 - 0.3).var(), **NO_NAN),
    Op('std_mean', lambda L, x: L.std_mean(x, -1), shapes=R1, **NO_NAN),   # torch's Welford mean of inf is NaN
    Op('var_mean', lambda L, x: L.var_mean(x, 0, correction=0), shapes=R1, **NO_NAN),
    Op('prod_all', lambda L, x: x.prod(), domain=(0.5, 1.5)),
    Op('prod_dim', lambda L, x: x.prod(-1), shapes=R1),
    Op('prod_keepdim', lambda L, x: L.prod(x, 0, keepdim=True), shapes=R1),
    Op('prod_zeros', lambda L, x: zeros_in(L, x).prod(-1), shapes=R1, **NO_NAN),
    Op('prod_zeros_all', lambda L, x: zeros_in(L, x).prod(), **NO_NAN),
    Op('logsumexp', lambda L, x: x.logsumexp(-1), shapes=R1),
    Op('logsumexp_tuple', lambda L, x: L.logsumexp(x, (0, 1), keepdim=True), shapes=R2),
    # ---- max/min family
    Op('max_all', lambda L, x: x.max(), **NO_NAN),
    Op('min_all', lambda L, x: L.min(x), **NO_NAN),
    Op('max_dim', lambda L, x: x.max(-1), shapes=R1, **NO_NAN),
    Op('max_dim_values', lambda L, x: x.max(dim=0, keepdim=True).values, shapes=R1, **NO_NAN),
    Op('min_dim_indices', lambda L, x: L.min(x, 1).indices, shapes=R2, **NO_NAN),
    Op('max_axis', lambda L, x: x.max(axis=-1), shapes=R1, **NO_NAN),
    Op('amax', lambda L, x: x.amax(-1), shapes=R1, **NO_NAN),
    Op('amin_tuple', lambda L, x: L.amin(x, (0, 1), keepdim=True), shapes=R2, **NO_NAN),
    Op('amax_ties', lambda L, x: ties(x).amax(-1), shapes=R1, **NO_NAN),
    Op('max_ties', lambda L, x: ties(x).max(), **NO_NAN),
    Op('aminmax', lambda L, x: L.aminmax(x, dim=-1), shapes=R1, **NO_NAN),
    Op('argmax', lambda L, x: x.argmax(-1), shapes=R1, **NO_NAN),
    Op('argmin_all', lambda L, x: L.argmin(x), **NO_NAN),
    Op('argmax_keepdim', lambda L, x: x.argmax(dim=0, keepdim=True), shapes=R1, **NO_NAN),
    Op('all_dim', lambda L, x: (x > 0).all(-1), shapes=R1),
    Op('any_dim', lambda L, x: L.any(x > 0, dim=0, keepdim=True), shapes=R1),
    Op('all_all', lambda L, x: L.all(x > 0)),
    Op('any_float', lambda L, x: x.any()),
    Op('count_nonzero', lambda L, x: L.count_nonzero(x.clamp(min=0), dim=-1), shapes=R1),
    # ---- norms and distances
    Op('norm_default', lambda L, x: x.norm()),
    Op('norm_fro_dim', lambda L, x: L.norm(x, 'fro', dim=(0, 1)), shapes=R2),
    Op('norm_1', lambda L, x: x.norm(1, dim=-1), shapes=R1, kinks=(0,)),
    Op('norm_inf', lambda L, x: x.norm(INF, dim=-1), shapes=NON_EMPTY1, **NO_NAN),
    Op('norm_minus_inf', lambda L, x: x.norm(-INF, -1), shapes=NON_EMPTY1, kinks=(0,), **NO_NAN),
    Op('norm_0', lambda L, x: x.norm(0, -1), shapes=R1),
    Op('norm_3', lambda L, x: x.norm(3, -1, keepdim=True), shapes=R1, kinks=(0,)),
    Op('norm_half', lambda L, x: x.norm(0.5), kinks=(0,)),
    Op('norm_zero_input', lambda L, x: (x * 0).norm(dim=-1), shapes=R1, **NO_NAN),
    Op('dist', lambda L, a, b: L.dist(a, b), **NO_NAN),
    Op('dist_1', lambda L, a, b: a.dist(b, 1), kinks=(0,), **NO_NAN),
    Op('cdist', lambda L, a, b: L.cdist(a, b),
       shapes=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)).map(
           lambda s: ((2, s[0], s[2]), (2, s[1], s[2]))), **NO_NAN),
    Op('cdist_1', lambda L, a, b: L.cdist(a, b, p=1),
       shapes=st.tuples(st.integers(1, 3), st.integers(1, 3)).map(lambda s: ((s[0], 3), (s[1], 3))),
       **NO_NAN),
    # ---- scans
    Op('cumsum', lambda L, x: x.cumsum(-1), shapes=R1),
    Op('cumsum_axis', lambda L, x: L.cumsum(x, axis=0), shapes=R1),
    Op('cumsum_int', lambda L, x: x.cumsum(0), shapes=R1, **ints(-3, 3)),
    Op('cumprod', lambda L, x: x.cumprod(-1), shapes=R1),
    Op('cumprod_zeros', lambda L, x: zeros_in(L, x).cumprod(0), shapes=R1, **NO_NAN),
    Op('cummax', lambda L, x: x.cummax(-1), shapes=R1, **NO_NAN),
    Op('cummin', lambda L, x: L.cummin(x, 0), shapes=R1, **NO_NAN),
    Op('cummax_ties', lambda L, x: ties(x).cummax(-1), shapes=R1, **NO_NAN),
    Op('logcumsumexp', lambda L, x: x.logcumsumexp(-1), shapes=R1, domain=(-30, 30), **NO_NAN),
    Op('logcumsumexp_dim0', lambda L, x: L.logcumsumexp(x, 0), shapes=R1, **NO_NAN),
    # ---- sorting and order statistics
    Op('sort', lambda L, x: x.sort(-1), shapes=R1),
    Op('sort_descending', lambda L, x: x.sort(0, descending=True), shapes=R1),
    Op('sort_stable_ties', lambda L, x: ties(x).sort(dim=-1, stable=True), shapes=R1, **NO_NAN),
    Op('sort_stable_descending_ties', lambda L, x: L.sort(ties(x), dim=0, descending=True, stable=True),
       shapes=R1, **NO_NAN),
    Op('argsort', lambda L, x: x.argsort(-1, descending=True), shapes=R1, **NO_NAN),
    Op('msort', lambda L, x: L.msort(x), shapes=R1, **NO_NAN),
    Op('topk', lambda L, x: x.topk(min(2, x.shape[-1]), -1), shapes=R1, **NO_NAN),
    Op('topk_smallest', lambda L, x: L.topk(x, 1, dim=0, largest=False), shapes=R1, **NO_NAN),
    Op('kthvalue', lambda L, x: x.kthvalue(1, -1), shapes=R1, **NO_NAN),
    Op('kthvalue_keepdim', lambda L, x: L.kthvalue(x, max(x.shape[0], 1), 0, keepdim=True), shapes=R1, **NO_NAN),
    Op('median_dim', lambda L, x: x.median(-1), shapes=R1, **NO_NAN),
    Op('median_all', lambda L, x: x.median(), **NO_NAN),
    Op('median_nan', lambda L, x: x.median(0).values, shapes=R1),
    Op('nanmedian_dim', lambda L, x: L.nanmedian(x, -1).values, shapes=R1),
    Op('nanmedian_all', lambda L, x: x.nanmedian()),
    Op('mode', lambda L, x: ties(x).mode(-1), shapes=R1, **NO_NAN),
    Op('mode_dim0', lambda L, x: L.mode(ties(x), 0, keepdim=True), shapes=R1, **NO_NAN),
    Op('unique', lambda L, x: L.unique(x, return_inverse=True, return_counts=True), **ints(-2, 2)),
    Op('unique_sorted', lambda L, x: x.unique(sorted=True), **ints(-3, 3)),
    Op('unique_dim', lambda L, x: L.unique(x, dim=0, return_inverse=True, return_counts=True),
       shapes=R2.filter(lambda s: s[0][0] > 0), **ints(0, 1)),
    Op('unique_consecutive', lambda L, x: L.unique_consecutive(x, return_inverse=True, return_counts=True),
       **ints(0, 1)),
    Op('unique_consecutive_dim', lambda L, x: x.unique_consecutive(return_counts=True, dim=-1),
       shapes=R2, **ints(0, 1)),
    Op('bincount', lambda L, x: L.bincount(x), shapes=VEC, **ints(0, 5)),
    Op('bincount_weights', lambda L, x: L.bincount(x.abs().long(), weights=x, minlength=3), shapes=VEC,
       domain=(0, 4), grad=False, **NO_NAN),
    Op('histc', lambda L, x: L.histc(x, bins=5, min=-1, max=1), grad=False),
    Op('histc_auto_range', lambda L, x: x.histc(4), grad=False, **NO_NAN),
    Op('histogram', lambda L, x: L.histogram(x, bins=3, range=(-2.0, 2.0)), shapes=VEC, grad=False, **NO_NAN),
    # ---- gather and scatter
    Op('gather', lambda L, x: x.gather(-1, gather_index(L, x, -1, 3)), shapes=R1),
    Op('gather_dim0', lambda L, x: L.gather(x, 0, gather_index(L, x, 0, 2)), shapes=R2),
    Op('take_along_dim', lambda L, x: L.take_along_dim(x, x.argsort(-1), -1), shapes=R1, **NO_NAN),
    Op('take_along_dim_flat', lambda L, x: x.contiguous().take_along_dim(index(L, (3,), x.numel())),
       shapes=st.tuples(shapes(1, 3, 1))),
    Op('scatter', lambda L, x, s: x.scatter(-1, scatter_perm_index(L, s, -1), s), shapes=R1.map(lambda t: t * 2)),
    Op('scatter_value', lambda L, x: L.scatter(x, 0, scatter_perm_index(L, x, 0), 2.5), shapes=R1),
    Op('scatter_add', lambda L, x, s: x.scatter_add(0, gather_index(L, x, 0, 4), s),
       shapes=NE2.map(lambda t: (t[0], (4,) + t[0][1:]))),
    Op('scatter_reduce_sum', lambda L, x, s: x.scatter_reduce(-1, gather_index(L, x, -1, 3), s, 'sum'),
       shapes=NE2.map(lambda t: (t[0], t[0][:-1] + (3,)))),
    Op('scatter_reduce_prod', lambda L, x, s: x.scatter_reduce(0, gather_index(L, x, 0, 3), s, 'prod'),
       shapes=NE1.map(lambda t: (t[0], (3,) + t[0][1:])), **NO_NAN),
    Op('scatter_reduce_prod_zeros', lambda L, x, s: zeros_in(L, x).scatter_reduce(
        0, gather_index(L, x, 0, 3), zeros_in(L, s), 'prod', include_self=True),
       shapes=NE1.map(lambda t: (t[0], (3,) + t[0][1:])), **NO_NAN),
    Op('scatter_reduce_mean', lambda L, x, s: x.scatter_reduce(0, gather_index(L, x, 0, 3), s, 'mean'),
       shapes=NE1.map(lambda t: (t[0], (3,) + t[0][1:])), **NO_NAN),
    Op('scatter_reduce_mean_no_self', lambda L, x, s: L.scatter_reduce(
        x, 0, gather_index(L, x, 0, 3), s, 'mean', include_self=False),
       shapes=NE1.map(lambda t: (t[0], (3,) + t[0][1:])), **NO_NAN),
    Op('scatter_reduce_amax', lambda L, x, s: x.scatter_reduce(0, gather_index(L, x, 0, 3), s, 'amax'),
       shapes=NE1.map(lambda t: (t[0], (3,) + t[0][1:])), **NO_NAN),
    Op('scatter_reduce_amin_no_self', lambda L, x, s: x.scatter_reduce(
        -1, gather_index(L, x, -1, 4), s, 'amin', include_self=False),
       shapes=NE1.map(lambda t: (t[0], t[0][:-1] + (4,))), **NO_NAN),
    Op('scatter_reduce_sum_no_self', lambda L, x, s: x.scatter_reduce(
        0, gather_index(L, x, 0, 3), s, 'sum', include_self=False),
       shapes=NE1.map(lambda t: (t[0], (3,) + t[0][1:]))),
    Op('index_select', lambda L, x: x.index_select(-1, index(L, (5,), x.shape[-1])), shapes=R1),
    Op('index_select_dim0', lambda L, x: L.index_select(x, 0, index(L, (3,), x.shape[0], 1)), shapes=R2),
    Op('index_add', lambda L, x, s: x.index_add(0, index(L, (s.shape[0],), x.shape[0]), s, alpha=2.0),
       shapes=R2.map(lambda t: (t[0], (3,) + t[0][1:]))),
    Op('index_copy', lambda L, x, s: x.index_copy(0, unique_rows_index(L, x, 0), s), shapes=R1.map(lambda t: t * 2)),
    Op('index_fill', lambda L, x: x.index_fill(-1, index(L, (2,), x.shape[-1]), -1.5), shapes=R1),
    Op('masked_select', lambda L, x: x.masked_select(mask(L, x))),
    Op('masked_select_broadcast', lambda L, x: L.masked_select(x, mask(L, x[..., :1])), shapes=R1),
    Op('masked_scatter', lambda L, x, s: x.masked_scatter(mask(L, x), s), shapes=R1.map(lambda t: t * 2)),
    Op('nonzero', lambda L, x: x.clamp(min=0).nonzero()),
    Op('nonzero_tuple', lambda L, x: L.nonzero(x.clamp(min=0), as_tuple=True), shapes=R1),
    Op('argwhere', lambda L, x: L.argwhere(x.clamp(min=0))),
    Op('take', lambda L, x: x.take(index(L, (2, 3), x.numel()))),
    # ---- reorder and repeat
    Op('flip', lambda L, x: x.flip(-1), shapes=R1),
    Op('flip_dims', lambda L, x: L.flip(x, (0, 1)), shapes=R2),
    Op('fliplr', lambda L, x: L.fliplr(x), shapes=R2),
    Op('flipud', lambda L, x: x.flipud(), shapes=R1),
    Op('roll', lambda L, x: x.roll(1, -1), shapes=R1),
    Op('roll_dims', lambda L, x: L.roll(x, (2, -1), (0, 1)), shapes=R2),
    Op('roll_flat', lambda L, x: x.roll(3)),
    Op('repeat', lambda L, x: x.repeat(2, *([1] * x.ndim))),
    Op('repeat_more', lambda L, x: x.repeat(*([2] * x.ndim))),
    Op('tile', lambda L, x: L.tile(x, (2,)), shapes=R1),
    Op('repeat_interleave', lambda L, x: x.repeat_interleave(2)),
    Op('repeat_interleave_dim', lambda L, x: L.repeat_interleave(x, 3, dim=-1), shapes=R1),
    Op('repeat_interleave_tensor', lambda L, x: x.repeat_interleave(
        index(L, (x.shape[0],), 3), dim=0), shapes=R1),
    # ---- slicing and axes
    Op('narrow', lambda L, x: x.narrow(-1, 0, min(2, x.shape[-1])), shapes=R1),
    Op('narrow_negative_start', lambda L, x: L.narrow(x, 0, -1, 1), shapes=R1),
    Op('select', lambda L, x: x.select(0, -1), shapes=R1),
    Op('unbind', lambda L, x: x.unbind(-1), shapes=R1),
    Op('movedim', lambda L, x: x.movedim(0, -1), shapes=R2),
    Op('movedim_tuple', lambda L, x: L.movedim(x, (0, 1), (2, 0)), shapes=R3),
    Op('moveaxis', lambda L, x: L.moveaxis(x, -1, 0), shapes=R1),
    Op('swapaxes', lambda L, x: x.swapaxes(0, -1), shapes=R1),
    Op('swapdims', lambda L, x: L.swapdims(x, 0, 1), shapes=R2),
    Op('unflatten', lambda L, x: x.unflatten(-1, (1, -1)), shapes=R1),
    Op('view_as', lambda L, x: x.reshape(-1).view_as(x)),
    Op('reshape_as', lambda L, x: x.reshape(-1).reshape_as(x)),
    Op('squeeze_tuple', lambda L, x: x.squeeze((0, -1)), shapes=R2),
    Op('tensor_split_sections', lambda L, x: x.tensor_split(3, -1), shapes=R1),
    Op('tensor_split_indices', lambda L, x: L.tensor_split(x, [1, 3], dim=0), shapes=R1),
    Op('tensor_split_decreasing', lambda L, x: x.tensor_split([3, 1], 0), shapes=R1),
    Op('hsplit', lambda L, x: L.hsplit(x, [1]), shapes=R1),
    Op('vsplit', lambda L, x: x.vsplit([1, 2]), shapes=R2),
    Op('split_empty_dim', lambda L, x: x[..., :0].split(2, -1), shapes=R1),
    Op('chunk_empty_dim', lambda L, x: x[..., :0].chunk(3, -1), shapes=R1),
    Op('hstack', lambda L, a, b: L.hstack([a, b]), shapes=R2.map(lambda t: (t[0], t[0]))),
    Op('hstack_1d', lambda L, a, b: L.hstack((a, b)), shapes=TWO_VECS),
    Op('vstack', lambda L, a, b: L.vstack([a, b]), shapes=ranked(1, 2).map(lambda t: (t[0], t[0]))),
    Op('dstack', lambda L, a, b: L.dstack([a, b]), shapes=ranked(1, 3).map(lambda t: (t[0], t[0]))),
    Op('column_stack', lambda L, a, b: L.column_stack([a, b]), shapes=ranked(1, 1).map(lambda t: (t[0], t[0]))),
    Op('meshgrid_ij', lambda L, a, b: L.meshgrid(a, b, indexing='ij'), shapes=TWO_VECS),
    Op('meshgrid_xy', lambda L, a, b, c: L.meshgrid([a, b, c], indexing='xy'),
       shapes=st.tuples(shapes(1, 1), shapes(1, 1), shapes(1, 1))),
    Op('broadcast_to', lambda L, x: x.broadcast_to((2,) + tuple(x.shape))),
    Op('broadcast_tensors', lambda L, a, b: L.broadcast_tensors(a, b)),
    Op('atleast_1d', lambda L, x: L.atleast_1d(x), shapes=st.tuples(shapes(0, 2))),
    Op('atleast_2d', lambda L, x: L.atleast_2d(x), shapes=st.tuples(shapes(0, 3))),
    Op('atleast_3d', lambda L, x: L.atleast_3d(x), shapes=st.tuples(shapes(0, 3))),
    Op('clone', lambda L, x: x.clone()),
    # ---- diagonals and triangles
    Op('diag_1d', lambda L, x: L.diag(x), shapes=VEC),
    Op('diag_1d_offset', lambda L, x: x.diag(-2), shapes=VEC),
    Op('diag_2d', lambda L, x: L.diag(x, 1), shapes=MATRIX),
    Op('diagonal', lambda L, x: x.diagonal(), shapes=R2),
    Op('diagonal_dims', lambda L, x: L.diagonal(x, -1, 2, 0), shapes=R3),
    Op('diag_embed', lambda L, x: x.diag_embed(), shapes=R1),
    Op('diag_embed_dims', lambda L, x: L.diag_embed(x, 1, 0, 2), shapes=R2),
    Op('trace', lambda L, x: x.trace(), shapes=MATRIX),
    Op('tril', lambda L, x: L.tril(x), shapes=R2),
    Op('tril_offset', lambda L, x: x.tril(-1), shapes=R2),
    Op('triu', lambda L, x: L.triu(x, 1), shapes=R2),
    Op('triu_method', lambda L, x: x.triu(), shapes=R3),
    # ---- products
    Op('outer', lambda L, a, b: L.outer(a, b), shapes=TWO_VECS),
    Op('ger', lambda L, a, b: a.ger(b), shapes=TWO_VECS),
    Op('einsum_bmm', lambda L, a, b: L.einsum('bij,bjk->bik', a, b),
       shapes=st.tuples(*[st.integers(0, 3)] * 4).map(lambda s: ((s[0], s[1], s[2]), (s[0], s[2], s[3])))),
    Op('einsum_transpose', lambda L, x: L.einsum('ij->ji', x), shapes=MATRIX),
    Op('einsum_trace', lambda L, x: L.einsum('ii->', x),
       shapes=st.integers(0, 4).map(lambda n: ((n, n),))),
    Op('einsum_diagonal', lambda L, x: L.einsum('bii->bi', x),
       shapes=st.integers(0, 4).map(lambda n: ((2, n, n),))),
    Op('einsum_outer', lambda L, a, b: L.einsum('i,j->ij', a, b), shapes=TWO_VECS),
    Op('einsum_sum', lambda L, x: L.einsum('ijk->j', x), shapes=R3),
    Op('einsum_implicit', lambda L, a, b: L.einsum('ij,jk', a, b),
       shapes=st.tuples(*[st.integers(0, 3)] * 3).map(lambda s: ((s[0], s[1]), (s[1], s[2])))),
    Op('einsum_ellipsis', lambda L, a, b: L.einsum('...ij,...jk->...ik', a, b),
       shapes=st.tuples(*[st.integers(1, 3)] * 3).map(lambda s: ((2, s[0], s[1]), (1, s[1], s[2])))),
    Op('einsum_list', lambda L, a, b: L.einsum('i,i->', [a, b]), shapes=VEC.map(lambda t: t * 2)),
    Op('einsum_attention', lambda L, q, k: L.einsum('bhqd,bhkd->bhqk', q, k),
       shapes=st.tuples(*[st.integers(1, 3)] * 3).map(lambda s: ((2, s[0], s[1], s[2]), (2, s[0], 3, s[2])))),
    Op('amax_all', lambda L, x: x.amax(), **NO_NAN),
    Op('amin_dim0', lambda L, x: x.amin(0), shapes=R1, **NO_NAN),
    Op('argmax_all', lambda L, x: x.argmax(), shapes=st.tuples(shapes(1, 2)), **NO_NAN),
    Op('norm_inf_empty', lambda L, x: x.norm(INF), shapes=st.tuples(shapes(1, 2)), **NO_NAN),
    Op('aminmax_all', lambda L, x: L.aminmax(x), shapes=st.tuples(shapes(1, 2)), **NO_NAN),
    Op('gather_0d', lambda L, x: x.sum().gather(0, L.tensor(0)), shapes=st.just(((),))),
    Op('std_positional_unbiased', lambda L, x: x.std(-1, False, True), shapes=R1),
    Op('var_positional_unbiased', lambda L, x: L.var(x, 0, True), shapes=R1),
    Op('sort_axis', lambda L, x: x.sort(axis=0, descending=True).values, shapes=R1, **NO_NAN),
    Op('median_axis', lambda L, x: x.median(axis=-1).values, shapes=NON_EMPTY1, **NO_NAN),
    # ---- creation
    Op('linspace', lambda L: L.linspace(-1, 2, 7, dtype=L.float64), shapes=st.just(())),
    Op('logspace', lambda L: L.logspace(0, 2, 5, base=2, dtype=L.float64), shapes=st.just(())),
    Op('eye', lambda L: L.eye(2, 3, dtype=L.float64), shapes=st.just(())),
    Op('arange_float', lambda L: L.arange(0, 1, 0.25), shapes=st.just(())),
    Op('full', lambda L: L.full((2, 3), 1.5), shapes=st.just(())),
    Op('tril_indices', lambda L: L.tril_indices(3, 4, 1), shapes=st.just(())),
    Op('triu_indices', lambda L: L.triu_indices(4, 3, -1), shapes=st.just(())),
    Op('new_full', lambda L, x: x.new_full((2,), 3.0), shapes=R1),
    Op('new_tensor', lambda L, x: x.new_tensor([1, 2]), shapes=R1),
    Op('zeros_like', lambda L, x: L.zeros_like(x) + L.ones_like(x) + L.full_like(x, 2.0)),
    Op('gather_out_of_bounds', lambda L, x: x.gather(-1, gather_index(L, x, -1, 2) + x.shape[-1]), shapes=NE1),
    Op('gather_negative', lambda L, x: x.gather(-1, gather_index(L, x, -1, 2) - 1), shapes=NE1),
    Op('index_select_negative', lambda L, x: x.index_select(0, L.tensor([-1])), shapes=NE1),
    Op('index_fill_negative', lambda L, x: x.index_fill(0, L.tensor([-1]), 0.5), shapes=NE1),
    Op('take_negative', lambda L, x: x.take(L.tensor([-1, 0])), shapes=NE1),
    Op('cat_0d', lambda L, a, b: L.cat([a.sum(), b.sum()]), shapes=st.just(((), ()))),
    # ---- softmax over nothing
    Op('softmax_empty_dim', lambda L, x: x[..., :0].softmax(-1), shapes=R1),
]

test_against_torch = torch_diff_test(TABLE)
