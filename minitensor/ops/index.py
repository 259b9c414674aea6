"""Indexing: x[index] with PyTorch's rules, and its backward, a scatter-add that counts
repeated indices.

A PyTorch index (ints, slices, None, ..., bools, integer/bool tensors, lists, ranges)
becomes a `TorchIndex` of two backend indices applied one after the other:

- `basic`: ints, slices, None and ... (a view), with every tensor index replaced by `:`;
- `advanced`: slices and integer arrays on that view, or None when there is none.

Two steps because torch and NumPy place the dims of separated advanced indices
differently: NumPy counts an int as an advanced index, torch selects with it first, so
`x[0, :, idx]` is (len(idx), B) in NumPy but (B, len(idx)) in torch. With the ints
applied in the first step, NumPy's rule on the second step is torch's rule.
"""
import math
import numbers
from typing import NamedTuple

import numpy as np

from .. import autograd
from ..autograd import Function
from ..backend import get_xp, index_add_rows, scatter_add, xp_of
from ..dtypes import compute_dtype


class TorchIndex(NamedTuple):
    """A converted index: `array[basic][advanced]` is torch's `x[index]`."""
    basic: tuple
    advanced: tuple = None      # None: basic indexing only (the result is a view)


# ---------------------------------------------------------------- conversion

def _is_sequence_index(item):
    return isinstance(item, (list, tuple, range, np.ndarray)) or isinstance(item, autograd.Tensor)


def _as_tuple(index):
    """torch reads a short list holding a tensor, sequence, slice, None or ... as a tuple
    of indices (x[[0, 1], [2]] is x[[0, 1], [2]]... as x[([0, 1], [2])]); other lists are
    one index tensor (x[[0, 1]] picks rows 0 and 1)."""
    if isinstance(index, tuple):
        return index
    if isinstance(index, list) and len(index) < 32 and any(
            i is None or i is Ellipsis or isinstance(i, slice) or _is_sequence_index(i)
            for i in index):
        return tuple(index)
    return (index,)


def _bool_scalar(item):
    """True/False for a Python bool, a NumPy bool or a 0-d bool tensor; else None."""
    if isinstance(item, (bool, np.bool_)):
        return bool(item)
    data = item.array if isinstance(item, autograd.Tensor) else item
    if getattr(data, 'ndim', None) == 0 and data.dtype == np.bool_:
        return bool(data)
    return None


def _int_scalar(item):
    """An int for a Python/NumPy integer or a 0-d integer tensor (torch selects with
    them as with an int); else None."""
    if isinstance(item, numbers.Integral) and not isinstance(item, (bool, np.bool_)):
        return int(item)
    data = item.array if isinstance(item, autograd.Tensor) else item
    if getattr(data, 'ndim', None) == 0 and data.dtype.kind in 'iu':
        return int(data)
    return None


def _as_index_array(item, xp, device):
    """A tensor / list / range / ndarray index -> a backend integer or bool array."""
    if isinstance(item, autograd.Tensor):
        if item.device != device:
            raise RuntimeError(f"index: the index is on {item.device} but the tensor is on "
                               f"{device}; move the index with .to('{device}')")
        arr = item.array
    else:
        try:
            arr = np.asarray(item) if not hasattr(item, '__cuda_array_interface__') else item
        except ValueError:
            raise IndexError("index: the nested lists of the index are ragged") from None
        if arr.size == 0 and arr.dtype.kind not in 'iub':
            arr = arr.astype(np.int64)                 # x[[]]: an empty integer index
        arr = xp.asarray(arr)
    if arr.dtype == np.uint8:                          # torch reads uint8 index tensors as masks
        arr = arr.astype(np.bool_)
    if arr.dtype.kind not in 'iub':
        raise IndexError(f"index: tensors used as indices must be integer or bool, got {arr.dtype}")
    return arr


def _check_bounds(arr, n, dim, shape, device):
    """Wrap negative entries; on the CPU, raise IndexError for entries out of [-n, n)."""
    if arr.size == 0:
        return arr
    if device == 'cpu':
        lo, hi = arr.min(), arr.max()
        if lo < -n or hi >= n:
            bad = lo if lo < -n else hi
            raise IndexError(f"index: index {bad} is out of bounds for dim {dim} with size {n} "
                             f"(tensor shape {tuple(shape)})")
        return arr + n * (arr < 0) if lo < 0 else arr
    return arr + n * (arr < 0) if arr.dtype.kind == 'i' else arr   # no sync on the GPU


def convert_index(index, shape, device):
    """A PyTorch-style index into a tensor of `shape` on `device` -> a TorchIndex.

    Integer arrays come back non-negative and bound-checked (on the CPU; the GPU
    would need a sync), bool masks as the integer arrays of their True positions.
    """
    xp = get_xp(device)
    # classify each item once; arrays are converted here, so lists are read once
    items = []
    for it in _as_tuple(index):
        if isinstance(it, slice) and it.step is not None and it.step <= 0:
            raise ValueError(f"index: slice step must be positive, got {it.step} (as torch); "
                             f"use .flip(dim) to reverse")
        if it is None or it is Ellipsis or isinstance(it, slice):
            items.append(it)
        elif _bool_scalar(it) is not None:
            items.append(('bool', _bool_scalar(it)))
        elif _int_scalar(it) is not None:
            items.append(('int', _int_scalar(it)))
        elif isinstance(it, (list, tuple, range, np.ndarray, autograd.Tensor)) or \
                hasattr(it, '__cuda_array_interface__'):
            items.append(('array', _as_index_array(it, xp, device)))
        else:
            raise IndexError(f"index: unsupported index of type {type(it).__name__}; use ints, "
                             f"slices, None, ..., bools, lists, ranges, or integer/bool tensors")
    ndim = len(shape)
    consumed = sum(1 if isinstance(it, slice) or it[0] == 'int' else
                   it[1].ndim if it[0] == 'array' and it[1].dtype == np.bool_ else
                   1 if it[0] == 'array' else 0
                   for it in items if it is not None and it is not Ellipsis)
    if consumed > ndim:
        raise IndexError(f"index: too many indices for a tensor of shape {tuple(shape)}: "
                         f"{consumed} indices for {ndim} dims")

    basic = []      # the first step
    out_dims = []   # per dim of the first step's result: a slice, or an index array
    to_check = []   # (position in out_dims, tensor dim) of each integer array
    kept = 1        # how many elements the non-indexed dims of the result hold
    two_steps = False
    dim = 0         # the tensor dim the next item indexes
    for it in items:
        if dim >= ndim and not (it is None or it is Ellipsis or it[0] == 'bool'):
            # only reachable with several ...: torch expands each one to the dims left over
            raise IndexError(f"index: too many indices for a tensor of shape {tuple(shape)}: "
                             f"with two ..., each stands for {ndim - consumed} dims")
        if it is None:
            basic.append(None)
            out_dims.append(slice(None))
            two_steps = True
        elif it is Ellipsis:
            basic.extend([slice(None)] * (ndim - consumed))
            out_dims.extend([slice(None)] * (ndim - consumed))
            kept *= math.prod(shape[dim:ndim - consumed + dim])
            dim += ndim - consumed
        elif isinstance(it, slice):
            basic.append(it)
            out_dims.append(it)
            kept *= len(range(*it.indices(shape[dim])))
            dim += 1
        elif it[0] == 'bool':                   # x[True]: a new dim of size 1 (0 if False)
            basic.append(None)
            out_dims.append(xp.zeros(1 if it[1] else 0, dtype=np.int64))
            two_steps = True
        elif it[0] == 'int':
            i, n = it[1], shape[dim]
            if not -n <= i < n:
                raise IndexError(f"index: index {i} is out of bounds for dim {dim} with size {n} "
                                 f"(tensor shape {tuple(shape)})")
            basic.append(i % n)
            two_steps = True
            dim += 1
        elif it[1].dtype == np.bool_:            # a mask over the next k dims
            arr, k = it[1], it[1].ndim
            if tuple(arr.shape) != tuple(shape[dim:dim + k]):
                raise IndexError(f"index: the boolean mask of shape {tuple(arr.shape)} does not "
                                 f"match the indexed dims {tuple(shape[dim:dim + k])} of the "
                                 f"tensor of shape {tuple(shape)} (starting at dim {dim})")
            basic.extend([slice(None)] * k)
            out_dims.extend(xp.nonzero(arr))
            dim += k
        else:
            basic.append(slice(None))
            to_check.append((len(out_dims), dim))
            out_dims.append(it[1])
            dim += 1

    if dim > ndim:      # a second ... at the end ran past the last dim: it stands for nothing
        if any(b != slice(None) for b in basic[ndim - dim:]):
            raise IndexError(f"index: too many indices for a tensor of shape {tuple(shape)}")
        del basic[ndim - dim:], out_dims[ndim - dim:]
    arrays = [i for i, d in enumerate(out_dims) if not isinstance(d, slice)]
    if not arrays:
        return TorchIndex(tuple(basic))
    # torch checks bounds only when it gathers something
    try:
        bshape = np.broadcast_shapes(*(out_dims[i].shape for i in arrays))
    except ValueError:
        raise IndexError(f"index: shape mismatch: the index tensors of shapes "
                         f"{[tuple(out_dims[i].shape) for i in arrays]} cannot be broadcast "
                         f"together") from None
    gathers = kept * math.prod(shape[dim:]) * math.prod(bshape)
    for pos, d in to_check:
        if gathers:
            out_dims[pos] = _check_bounds(out_dims[pos], shape[d], d, shape, device)
        elif shape[d]:  # an empty result: any in-range entry gives the same (empty) array
            out_dims[pos] = xp.clip(out_dims[pos], 0, shape[d] - 1)
        elif not math.prod(bshape):
            out_dims[pos] = xp.zeros(bshape, dtype=np.int64)
        else:
            out_dims[pos] = _check_bounds(out_dims[pos], shape[d], d, shape, device)
    if not two_steps:      # only slices and arrays: one NumPy index, whose rule is torch's
        return TorchIndex((), tuple(out_dims))
    last = arrays[-1] + 1
    second = tuple(d if not isinstance(d, slice) else slice(None) for d in out_dims[:last])
    return TorchIndex(tuple(basic), second)


# ---------------------------------------------------------------- reading and writing

def index_get(array, ix):
    """array[index] for a TorchIndex."""
    if ix.advanced is None:
        return array[ix.basic]
    view = array[ix.basic] if ix.basic else array
    return view[ix.advanced]


def index_put(array, ix, value):
    """array[index] = value, in place (repeated indices: one of the writes wins)."""
    if ix.advanced is None:
        array[ix.basic] = value
    else:
        view = array[ix.basic] if ix.basic else array      # a view: it has the advanced dims
        view[ix.advanced] = value


def index_add(array, ix, values):
    """array[index] += values, in place, where repeated indices all count."""
    if ix.advanced is None:
        array[ix.basic] += values                          # basic: every element once
    else:
        scatter_add(array[ix.basic] if ix.basic else array, ix.advanced, values)
    return array


def is_advanced(ix):
    """True if the index gathers with arrays (a copy), False for a view."""
    return ix.advanced is not None


# ---------------------------------------------------------------- Functions

class GetItem(Function):
    """out = a[index] for a TorchIndex; backward scatter-adds the gradient back."""

    def forward(self, a, index=None):
        self.shape = a.shape
        if index.advanced is None:
            self.index = index                   # ints and slices: nothing to free, as torch
        else:
            self.save_for_backward(index)        # holds index arrays
        return index_get(a, index)

    def backward(self, g):
        xp, ix = xp_of(g), (self.saved if self.saved else self.index)
        dtype, g = g.dtype, g.astype(compute_dtype(g.dtype), copy=False)   # 16-bit: sums in float32
        if (ix.advanced is not None and not ix.basic and len(ix.advanced) == 1 and ix.advanced[0].ndim == 1
                and ix.advanced[0].dtype.kind in 'iu'):
            # embedding lookup of rows: the sort/reduceat (CPU) or atomic (GPU) path
            return index_add_rows(self.shape[0], ix.advanced[0], g).astype(dtype, copy=False)
        return index_add(xp.zeros(self.shape, dtype=g.dtype), ix, g).astype(dtype, copy=False)


class Embedding(Function):
    """weight[idx] for an integer array idx of any shape: (..., ) -> (..., dim).

    The row padding_idx (if given) gets no gradient, as torch's padding row.
    """

    def forward(self, weight, idx=None, padding_idx=None):
        self.num_rows, self.padding_idx = weight.shape[0], padding_idx
        self.save_for_backward(idx)
        return weight[idx]

    def backward(self, g):                       # rows picked k times get k contributions
        (idx,) = self.saved
        flat_idx = idx.reshape(-1)
        # 16-bit gradients sum in float32: rows picked often would lose digits (and CuPy has
        # no bfloat16 atomic add)
        g16 = g.dtype
        g = g.astype(compute_dtype(g16), copy=False)
        grad = index_add_rows(self.num_rows, flat_idx, g.reshape(flat_idx.size, -1))
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0
        return grad.astype(g16, copy=False)
