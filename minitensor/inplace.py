"""In-place ops under torch's autograd rules, shared by every `x.op_()` and `x[i] = v`.

An in-place op computes its result out of place with ordinary ops (so the graph
records it), writes the result into the tensor's storage, bumps the storage's
version and makes the result's history the tensor's own (torch's rebase_history):

    y = x * 2; y += 1          # y's grad_fn becomes the Add, chained to the Mul
    y = x.exp(); y += 1        # backward raises: Exp saved y, now at version 1

On a view of another tensor, the base's history becomes a CopySlices that scatters
the result into it, and the view is re-derived from the base. In-place on a leaf that
requires grad (or a view of one) is refused while grad mode is on, as torch.
"""
from . import autograd
from .autograd import CopySlices, Edge, ViewOf, _version_box


def bump_version(t):
    _version_box(t)[0] += 1


def refresh_view(t):
    """t is a view whose base was modified in place since t's history was recorded:
    from now on t's history is 'this view of the base as it is now'."""
    base = t._base
    t._view_version = t._vc[0]
    if not base.requires_grad:
        return
    fn = ViewOf()
    fn.saved = ()
    fn.chain, fn.base_shape = t._view_chain, base.shape
    fn.inputs = (base if base.grad_fn is None else Edge(base),)
    fn.needs_grad = (True,)
    t.grad_fn, t.output_nr, t.requires_grad = fn, 0, True


def _check_leaf(t, op):
    if t.grad_fn is None and t.requires_grad and t._base is None:
        raise RuntimeError(
            f"{op}: a leaf Variable that requires grad is being used in an in-place operation. "
            f"Do it inside `with mt.no_grad():` (a parameter update), or on a copy (x.clone())")
    base = t._base
    if base is not None and base.requires_grad and base.grad_fn is None:
        raise RuntimeError(
            f"{op}: a view of a leaf Variable that requires grad is being used in an in-place "
            f"operation. Do it inside `with mt.no_grad():`, or on a copy (x.clone())")


def _write(t, value, op):
    """t's storage <- value (same shape; a dtype that casts to t's within its kind)."""
    if value.shape != t.array.shape:
        raise RuntimeError(
            f"{op}: output with shape {list(t.array.shape)} doesn't match the broadcast shape "
            f"{list(value.shape)}; an in-place op cannot grow its tensor (use the out-of-place op)")
    if value.dtype != t.array.dtype and not t.xp.can_cast(value.dtype, t.array.dtype, 'same_kind'):
        raise RuntimeError(
            f"{op}: result type {value.dtype} can't be cast to the desired output type "
            f"{t.array.dtype}; convert the tensor first (e.g. x = x.float())")
    try:
        t.array[...] = value
    except ValueError as e:
        if 'read-only' not in str(e):
            raise
        raise RuntimeError(
            f"{op}: unsupported operation: more than one element of the written-to tensor refers "
            f"to a single memory location (an expand()ed tensor?). Please clone() the tensor "
            f"before performing the operation.") from None


def commit(t, result, op):
    """Make `result` (computed from t out of place) t's new value and history. Returns t."""
    graph = result.requires_grad and result.grad_fn is not None
    if graph:
        _check_leaf(t, op)
        ctx = result.grad_fn
        _keep_original(ctx, t)
    _write(t, result.array, op)
    bump_version(t)
    if not graph:
        return t
    _retarget_output(ctx, result, t)
    if t._base is None:
        t.grad_fn, t.output_nr, t.requires_grad = ctx, result.output_nr, True
    else:
        _rebase_base(t, result)
        refresh_view(t)
    return t


def _keep_original(ctx, t):
    """The op saved t's array as it was before the write (mul_ needs the old t for the
    other factor's gradient): keep a private copy, as torch saves the original self."""
    records = ctx.saved_versions
    box = t._vc
    if not records or box is None:
        return
    mine = [r for r in records if r[1] is box]
    if not mine:
        return
    saved = list(ctx.saved)
    for slot, *_ in mine:
        saved[slot] = saved[slot].copy()
    ctx.saved = type(ctx.saved)(*saved) if hasattr(ctx.saved, '_fields') else tuple(saved)
    ctx.saved_versions = [r for r in records if r[1] is not box] or None


def _retarget_output(ctx, result, t):
    """The op saved its output, which is now t's content: t's later in-place edits must
    be caught (y.exp_(); y.add_(1) makes backward raise, as torch)."""
    records = ctx.saved_versions
    if not records or result._vc is None:
        return
    box = _version_box(t)
    ctx.saved_versions = [(slot, box, box[0], which) if old is result._vc else (slot, old, v, which)
                          for slot, old, v, which in records]


def _rebase_base(view, result):
    """In-place on a view: the base becomes 'old base with the view's region replaced
    by result' (CopySlices), so the gradient reaches both the base's old history and
    whatever result depends on."""
    base = view._base
    fn = CopySlices()
    fn.saved = ()
    fn.chain, fn.base_shape, fn.view_shape = view._view_chain, base.shape, view.shape
    fn.inputs = (base if base.grad_fn is None and base.requires_grad else Edge(base),
                 result if result.grad_fn is None else Edge(result))
    fn.needs_grad = (base.requires_grad, True)
    base.grad_fn, base.output_nr, base.requires_grad = fn, 0, True


def setitem(t, ix, value, index_put, IndexPut):
    """t[ix] = value (ix already converted): a plain write when no gradient is involved,
    else IndexPut joins the graph (torch's CopySlices / IndexPutBackward)."""
    if t._base is not None and t._view_version != t._vc[0]:
        refresh_view(t)
    if not (autograd._grad_enabled and (t.requires_grad or value.requires_grad)):
        index_put(t.array, ix, value.array)
        bump_version(t)
        return
    if value.dtype != t.dtype:
        value = value.to(t.dtype)
    commit(t, IndexPut.apply(t, value, index=ix), 'setitem')
