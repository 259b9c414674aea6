"""Orders and counts: the indices behind sort/argsort/topk/kthvalue/median/mode, and
unique/unique_consecutive/bincount/histc/histogram.

The differentiable results (sort values, topk values, ...) are gathered at these
indices by ops.gather.Gather, whose backward scatter-adds: one backward for all of them.
Indices are int64 and come back in the keepdim form (size 1 along dim) where one
index per row is picked.
"""
import math

from ..backend import xp_of
from ..dtypes import is_floating


def sort_indices(a, dim, descending=False):
    """Stable order along dim. NaN sorts above every number, as torch (last ascending,
    first descending)."""
    xp = xp_of(a)
    if not descending:
        return xp.argsort(a, axis=dim, kind='stable').astype(xp.int64)
    # a stable descending order keeps equal elements in their original order: sort the
    # reversed array ascending, reverse the result, and map positions back
    n = a.shape[dim]
    flipped = xp.flip(a, axis=dim)
    order = xp.flip(xp.argsort(flipped, axis=dim, kind='stable'), axis=dim)
    return (n - 1 - order).astype(xp.int64)


def pick(indices, dim, k):
    """indices[..., k, ...] along dim, keeping dim as size 1."""
    xp = xp_of(indices)
    return xp.take(indices, xp.asarray([k]), axis=dim) if not hasattr(k, 'shape') else \
        xp.take_along_axis(indices, k, axis=dim)


def median_indices(a, dim, ignore_nan=False):
    """The lower median of each row (index (n - 1) // 2 of the sorted row), as torch. A row
    with a NaN has median NaN; with ignore_nan (nanmedian) the NaNs are left out."""
    xp = xp_of(a)
    order = sort_indices(a, dim)
    n = a.shape[dim]
    if not is_floating(a.dtype):
        return pick(order, dim, (n - 1) // 2)
    finite_count = (~xp.isnan(a)).sum(axis=dim, keepdims=True)
    if ignore_nan:
        k = xp.maximum(finite_count - 1, 0) // 2
    else:                                        # the first NaN sits right after the numbers
        k = xp.where(finite_count < n, finite_count, (n - 1) // 2)
    return pick(order, dim, k.astype(xp.int64))


def mode_indices(a, dim):
    """The most frequent value of each row, the smallest among equally frequent ones,
    at the index of its last occurrence (as torch on the CPU)."""
    xp = xp_of(a)
    last = xp.moveaxis(a, dim, -1)                                   # (..., n)
    n = last.shape[-1]
    counts = (last[..., :, None] == last[..., None, :]).sum(axis=-1)  # (..., n): n^2 compares
    most = counts == counts.max(axis=-1, keepdims=True)
    # among the most frequent, the smallest value (any entry of the row stands in elsewhere)
    value = xp.where(most, last, last.max(axis=-1, keepdims=True)).min(axis=-1, keepdims=True)
    positions = xp.arange(n, dtype=xp.int64)
    index = xp.where(last == value, positions, -1).max(axis=-1, keepdims=True)
    return xp.moveaxis(index, -1, dim)


def unique_consecutive(a, dim=None):
    """(values, inverse, counts) of runs of equal elements (or equal slices along dim)."""
    xp = xp_of(a)
    if dim is None:
        rows = a.reshape(-1, 1)
    else:
        moved = xp.moveaxis(a, dim, 0)
        rows = moved.reshape(moved.shape[0], math.prod(moved.shape[1:]))
    n = rows.shape[0]
    starts = xp.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    inverse = xp.cumsum(starts) - 1
    start_at = xp.flatnonzero(starts)
    counts = xp.diff(xp.concatenate([start_at, xp.asarray([n])]))
    if dim is None:
        values, inverse = a.reshape(-1)[starts], inverse.reshape(a.shape)
    else:
        values = xp.moveaxis(xp.moveaxis(a, dim, 0)[starts], 0, dim)
    return values, inverse.astype(xp.int64), counts.astype(xp.int64)


def unique(a, dim=None):
    """(sorted values, inverse, counts) as torch.unique (which always sorts on the CPU)."""
    xp = xp_of(a)
    if dim is None:
        values, inverse, counts = xp.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        return values, inverse.reshape(a.shape).astype(xp.int64), counts.astype(xp.int64)
    if a.shape[dim] == 0:
        return a, xp.zeros(0, dtype=xp.int64), xp.zeros(0, dtype=xp.int64)
    # sort the slices lexicographically, then runs of equal slices are the unique ones
    moved = xp.moveaxis(a, dim, 0)
    rows = moved.reshape(moved.shape[0], -1)
    order = xp.lexsort(rows.T[::-1]) if rows.shape[1] else xp.arange(rows.shape[0])
    values, run_inverse, counts = unique_consecutive(rows[order], dim=0)
    inverse = xp.empty_like(run_inverse)
    inverse[order] = run_inverse
    values = xp.moveaxis(values.reshape((-1,) + moved.shape[1:]), 0, dim)
    return values, inverse, counts


def histc(a, bins, low, high):
    """Counts of a's elements in `bins` equal bins over [low, high] (the top edge is in
    the last bin); low == high means the data's own range, as torch."""
    xp = xp_of(a)
    flat = a.reshape(-1)
    if low == high and flat.size:
        low, high = float(flat.min()), float(flat.max())
    if low == high:
        low, high = low - 1, high + 1
    inside = flat[(flat >= low) & (flat <= high)].astype(xp.float64)
    which = xp.floor((inside - low) * bins / (high - low)).astype(xp.int64)
    which = xp.minimum(which, bins - 1)
    return xp.bincount(which, minlength=bins).astype(a.dtype)
