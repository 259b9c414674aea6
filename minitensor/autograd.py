"""The autograd core: Function (one op = forward + backward), grad mode, backward().

A Function's forward and backward work on raw backend arrays (numpy or cupy).
`Function.apply` wraps the result in a Tensor that remembers the Function (its
`grad_fn`) and the inputs, so `backward()` can walk the graph in reverse.

Rules that keep this simple and fast:
- gradient arrays are never modified in place: a backward may hand the very same
  array to two inputs (as `a + b` does);
- everything a backward reads that is an array goes through `save_for_backward`:
  that is what the version counters check and what `release()` frees;
- a Tensor's storage has a version counter, shared by its views and bumped by every
  in-place op; backward refuses to use a saved array whose tensor's version moved
  (torch's rule: an in-place edit never yields a silently wrong gradient).
"""
import functools
import weakref

_grad_enabled = True
_inference_mode = False
Tensor = None      # minitensor.tensor.Tensor; tensor.py binds it when it loads (it imports this module)


# ---------------------------------------------------------------- grad mode

def is_grad_enabled():
    return _grad_enabled


def is_inference_mode_enabled():
    return _inference_mode


def _set_grad_enabled(mode):
    global _grad_enabled
    _grad_enabled = bool(mode)


class _GradModeContext:
    """Base of the grad-mode switches: a context manager and a decorator."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._clone():
                return fn(*args, **kwargs)
        return wrapper

    def _clone(self):
        return type(self)()


class _NoParamContext(_GradModeContext):
    """A switch without arguments, usable as @switch as well as @switch() (as torch)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamContext):
    """Context manager and decorator: ops inside record no graph (inference, updates)."""

    def __enter__(self):
        self.prev = _grad_enabled
        _set_grad_enabled(False)

    def __exit__(self, *exc):
        _set_grad_enabled(self.prev)


class enable_grad(_NoParamContext):
    """Context manager and decorator: re-enable graph recording inside a no_grad block."""

    def __enter__(self):
        self.prev = _grad_enabled
        _set_grad_enabled(True)

    def __exit__(self, *exc):
        _set_grad_enabled(self.prev)


class set_grad_enabled(_GradModeContext):
    """set_grad_enabled(mode): sets the mode at once (a function call), and as a context
    manager or decorator restores the previous mode afterwards, as torch."""

    def __init__(self, mode):
        self.prev, self.mode = _grad_enabled, bool(mode)
        _set_grad_enabled(self.mode)

    def __call__(self, fn):
        _set_grad_enabled(self.prev)      # decorating must not leave the mode switched
        return super().__call__(fn)

    def _clone(self):
        return type(self)(self.mode)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _set_grad_enabled(self.prev)


class inference_mode(_GradModeContext):
    """inference_mode(mode=True): no_grad for inference (there are no inference tensors
    here: tensors made inside are ordinary tensors that do not require grad)."""

    def __new__(cls, mode=True):
        if callable(mode):                    # @inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def _clone(self):
        return type(self)(self.mode)

    def __enter__(self):
        global _inference_mode
        self.prev = _grad_enabled, _inference_mode
        if self.mode:
            _set_grad_enabled(False)
        _inference_mode = self.mode

    def __exit__(self, *exc):
        global _inference_mode
        grad, _inference_mode = self.prev
        _set_grad_enabled(grad)


# ---------------------------------------------------------------- graph pieces

class Edge:
    """What backward needs of a non-leaf (or constant) input: where its gradient goes,
    and its shape. Not the Tensor, whose array would then live until backward even
    when no backward formula uses it (torch frees such activations too)."""
    __slots__ = ('grad_fn', 'output_nr', 'shape')

    def __init__(self, t):
        self.grad_fn, self.output_nr, self.shape = t.grad_fn, t.output_nr, t.array.shape


# The Edge of every input that does not require grad: backward never follows it (its
# needs_grad is False), so one shared instance serves them all.
CONSTANT = object.__new__(Edge)
CONSTANT.grad_fn, CONSTANT.output_nr, CONSTANT.shape = None, 0, ()
_ONE_NEEDED = (True,)


class AccumulateGrad:
    """What `grad_fn.next_functions` shows for a leaf that requires grad, as torch."""
    __slots__ = ('variable',)

    def __init__(self, variable):
        self.variable = variable

    def __repr__(self):
        return "<AccumulateGrad>"


# The version box of the tensors made from Python numbers for one op (x * 2's 2): no
# user code holds them, so no in-place op can reach them and saving them needs no record.
UNMODIFIABLE = [0]


def _version_box(t):
    """t's version counter (a one-element list shared with its views), made on demand."""
    box = t._vc
    if box is None:
        box = t._vc = [0]
    return box


def _storage_owner(a):
    """The array that owns a's memory (NumPy and CuPy point a view's .base at it)."""
    base = getattr(a, 'base', None)
    return a if base is None else base


def _version_error(fn, record):
    """torch's error for a saved array whose tensor was modified in place after saving.
    record = (slot in fn.saved, version box, version when saved, which tensor: input i,
    or -1 - k for output k)."""
    slot, box, version, which = record
    saved = fn.saved[slot]
    if which >= 0:
        t = fn.inputs[which]
        made_by = f", which is output {t.output_nr} of {t.grad_fn.name}Backward," if t.grad_fn else ""
    else:
        made_by = f", which is output {-1 - which} of {fn.name}Backward,"
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [minitensor.{saved.dtype} {list(saved.shape)}]{made_by} is at "
        f"version {box[0]}; expected version {version} instead. It was saved by "
        f"{fn.name}Backward; clone() it before the in-place op, or make the op out of place.")


# ---------------------------------------------------------------- Function

class Function:
    """Base of every differentiable op: subclasses define forward() and backward().

    forward(*arrays, **options) -> array      (options are non-tensor arguments)
    backward(grad) -> one gradient per tensor input (or None), each already shaped
                      like that input.

    Rules:
    - Every array backward needs is passed to `save_for_backward(*arrays)` (or one
      named tuple of arrays, for a fused kernel's saves) and read back from `self.saved`.
      Other attributes hold only small non-array values (shapes, axes, flags): they
      survive `release()`, which frees the saved arrays after backward.
    - A saved array that is an input's or the output's array (or a view of one) is
      checked by version: modifying that tensor in place before backward makes
      backward raise instead of returning a wrong gradient.
    - A forward may return a tuple of arrays (split does); such a Function sets
      `self.n_outputs` (the tuple's length, even 1) in forward. apply then returns a tuple of Tensors, and
      backward receives a list with one gradient per output (None for an output that
      no path from the loss reaches).

    After apply, `self.inputs` holds, per input, the Tensor itself if it is a leaf
    that requires grad (its gradient accumulates into it) and an Edge otherwise (the
    producer's grad_fn and output slot, not the array); `self.needs_grad` says which
    inputs want a gradient.
    """
    __slots__ = ('inputs', 'needs_grad', '__dict__')
    saved = ()             # what save_for_backward kept; None once release() freed it

    def __init_subclass__(cls, **kwargs):
        """A subclass written torch's way (a @staticmethod forward(ctx, ...) on Tensors) gets
        an apply that runs it through autograd_function.Bridge; the engine's own Functions
        (forward on arrays) keep the direct apply below."""
        super().__init_subclass__(**kwargs)
        if isinstance(cls.__dict__.get('forward'), staticmethod):
            from . import autograd_function

            def torch_style_apply(fn_cls, *args, **kw):
                return autograd_function.apply(fn_cls, *args, **kw)
            cls.apply = classmethod(torch_style_apply)
    saved_versions = None  # [(slot, version box, version, which tensor)] for saved arrays that are a tensor's storage
    n_outputs = None      # a Function returning a tuple sets it in forward (even to 1)

    def save_for_backward(self, *arrays):
        self.saved = arrays[0] if len(arrays) == 1 and isinstance(arrays[0], tuple) else arrays

    @classmethod
    def apply(cls, *inputs, **options):
        # The hot path of every op: written out for the common one- and two-input cases
        # (no per-call comprehensions), the graph recorded only when some input wants a
        # gradient and grad mode is on.
        ctx = cls()
        requires_grad = False
        for t in inputs:
            if t._base is not None and t._view_version != t._vc[0]:
                t._refresh_view()           # its base was modified in place: see the new history
            if t.requires_grad:
                requires_grad = True
        n = len(inputs)
        if n == 2:
            a, b = inputs
            out = ctx.forward(a.array, b.array, **options)
        elif n == 1:
            a = inputs[0]
            out = ctx.forward(a.array, **options)
        else:
            out = ctx.forward(*[t.array for t in inputs], **options)
        if not (requires_grad and _grad_enabled):
            ctx = None
        elif n == 1:                        # the one input requires grad
            ctx.inputs = (a if a.grad_fn is None else Edge(a),)
            ctx.needs_grad = _ONE_NEEDED
        else:
            # leaves that need a gradient stay (it accumulates into them); any other input
            # is kept as an Edge, so its array is freed once no op's saved values hold it
            edges, needs = [], []
            for t in inputs:
                if t.requires_grad:
                    edges.append(t if t.grad_fn is None else Edge(t))
                    needs.append(True)
                else:
                    edges.append(CONSTANT)
                    needs.append(False)
            ctx.inputs, ctx.needs_grad = tuple(edges), tuple(needs)
        if type(out) is tuple:              # several outputs: each knows its position
            if ctx is not None and ctx.n_outputs != len(out):
                raise RuntimeError(f"{cls.__name__}.forward returned {len(out)} outputs but declared "
                                   f"n_outputs = {ctx.n_outputs} (an engine bug)")
            outs = tuple(Tensor._wrap(o, ctx is not None, ctx) for o in out)
            for i, t in enumerate(outs):
                t.output_nr = i
                _mark_view(t, inputs, cls, options, i)
        else:
            outs = Tensor._wrap(out, ctx is not None, ctx)
            if out.base is not None or (n and out is inputs[0].array):
                _mark_view(outs, inputs, cls, options, None)
        if ctx is not None and ctx.saved:
            ctx._record_versions(inputs, outs)
        return outs

    def _record_versions(self, inputs, outs):
        """Remember the version of each tensor whose array (or a view of it) was saved."""
        records = None
        for slot, s in enumerate(self.saved):
            if s is None:
                continue
            owner = getattr(s, 'base', None)
            if owner is None:
                owner = s
            which = 0
            for t in inputs:
                a = t.array
                if owner is a or owner is a.base:
                    break
                which += 1
            else:
                which = -1
                for t in (outs if type(outs) is tuple else (outs,)):
                    a = t.array
                    if owner is a or owner is a.base:
                        break
                    which -= 1
                else:
                    continue
            box = t._vc
            if box is None:
                box = t._vc = [0]
            elif box is UNMODIFIABLE:
                continue
            if records is None:
                records = self.saved_versions = []
            records.append((slot, box, box[0], which))

    def check_saved(self):
        """Raise torch's errors if backward would read freed or modified saved arrays."""
        if self.saved is None:
            raise RuntimeError(
                f"Trying to backward through the graph a second time (or directly access saved "
                f"tensors after they have already been freed): {self.name}Backward's saved "
                f"values were freed after the first backward. Specify retain_graph=True on the "
                f"first backward if you need to backward through the graph a second time.")
        for record in self.saved_versions or ():
            if record[1][0] != record[2]:
                raise _version_error(self, record)

    def release(self):
        """Drop the saved arrays, so the memory goes back right after use. The graph's
        structure stays: a second backward through ops that saved nothing works, as torch."""
        if self.saved:
            self.saved = None
            if self.saved_versions is not None:
                self.saved_versions = None

    @property
    def name(self):
        return type(self).__name__

    @property
    def next_functions(self):
        """((grad_fn or AccumulateGrad or None, output_nr), ...) per input, as torch."""
        out = []
        for t in self.inputs:
            if isinstance(t, Edge):
                out.append((t.grad_fn, t.output_nr))
            else:
                out.append((AccumulateGrad(t), 0))
        return tuple(out)

    def register_hook(self, hook):
        """hook(grad_inputs, grad_outputs) after this node's backward (torch's Node hook)."""
        self.__dict__.setdefault('_post_hooks', []).append(hook)

    def __repr__(self):
        return f"<{self.name}Backward>"


def _mark_view(out, inputs, cls, options, piece):
    """If out shares storage with an input, it is a view: same version counter, and
    (when made with grad on) it remembers its base and how to re-derive it."""
    array = out.array
    owner = _storage_owner(array)
    for t in inputs:
        if owner is _storage_owner(t.array):
            break
    else:
        return
    out._vc = _version_box(t)
    if not _grad_enabled or len(inputs) != 1:     # only a one-input op can be replayed on its base
        return
    base = t if t._base is None else t._base
    out._base = base
    out._view_chain = (t._view_chain if t._base is not None else ()) + ((cls, options, piece),)
    out._view_version = out._vc[0]


def view_positions(base_shape, chain, xp):
    """Flat positions in the base of each element of the view the chain derives."""
    positions = xp.arange(_size(base_shape)).reshape(base_shape)
    for cls, options, piece in chain:
        result = cls().forward(positions, **options)
        positions = result if piece is None else result[piece]
    return positions


def _size(shape):
    n = 1
    for s in shape:
        n *= s
    return n


class ViewOf(Function):
    """A view's history after its base was modified in place: the view re-derived from
    the base's new state (torch's AsStridedBackward). Backward scatters into the base."""

    def backward(self, g):
        xp = _xp(g)
        positions = view_positions(self.base_shape, self.chain, xp)
        grad = xp.zeros(_size(self.base_shape), dtype=g.dtype)
        xp.add.at(grad, positions.reshape(-1), g.reshape(-1))   # an expanded view repeats positions
        return grad.reshape(self.base_shape)


class CopySlices(Function):
    """An in-place op on a view, seen from the base (torch's CopySlices): the new base
    is the old base with the view's region replaced by the op's result. Inputs: the old
    base and the result; the region's gradient goes to the result, the rest to the base."""

    def backward(self, g):
        xp = _xp(g)
        positions = view_positions(self.base_shape, self.chain, xp).reshape(-1)
        flat = g.reshape(-1)
        grad_result = flat[positions].reshape(self.view_shape)
        grad_base = flat.copy()
        grad_base[positions] = 0
        return grad_base.reshape(self.base_shape), grad_result


def _xp(a):
    from .backend import xp_of
    return xp_of(a)


# ---------------------------------------------------------------- post-accumulate-grad hooks

_post_accumulate_hooks = {}   # id(leaf) -> [hook(leaf)]; empty, backward skips all hook work


def register_post_accumulate_grad_hook(leaf, hook):
    """Call hook(leaf) once per backward, after every contribution to leaf.grad of that
    backward has been summed in (torch's Tensor.register_post_accumulate_grad_hook:
    DistributedDataParallel starts a bucket's all-reduce from it). Returns a handle
    whose remove() unregisters the hook."""
    if not leaf.requires_grad or leaf.grad_fn is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors that require grad "
                           "accumulate a .grad (this one is " +
                           ("a non-leaf)" if leaf.grad_fn is not None else "a tensor without requires_grad)"))
    key = id(leaf)
    if key not in _post_accumulate_hooks:
        _post_accumulate_hooks[key] = []
        weakref.finalize(leaf, _post_accumulate_hooks.pop, key, None)
    _post_accumulate_hooks[key].append(hook)
    return _HookHandle(key, hook)


class _HookHandle:
    """remove() takes the hook off again (as torch's RemovableHandle)."""

    def __init__(self, key, hook):
        self.key, self.hook = key, hook

    def remove(self):
        hooks = _post_accumulate_hooks.get(self.key)
        if hooks and self.hook in hooks:
            hooks.remove(self.hook)
            if not hooks:
                del _post_accumulate_hooks[self.key]


def _hooked_leaves_by_last_use(order):
    """{position in order: [hooked leaves whose last consumer is there]}: a leaf's gradient
    is complete once the last op that uses it has run its backward."""
    last = {}
    for i, fn in enumerate(order):
        for t, needs in zip(fn.inputs, fn.needs_grad):
            if needs and t.grad_fn is None and id(t) in _post_accumulate_hooks:
                last[id(t)] = (i, t)
    by_position = {}
    for i, t in last.values():
        by_position.setdefault(i, []).append(t)
    return by_position


def _run_post_accumulate_hooks(leaf):
    for hook in list(_post_accumulate_hooks.get(id(leaf), ())):
        hook(leaf)


def _fire(leaves, reached):
    """Post-accumulate hooks of the leaves whose last use just ran, if they got a gradient."""
    for t in leaves:
        if id(t) in reached:
            _run_post_accumulate_hooks(t)


# ---------------------------------------------------------------- backward

def _topological_order(roots):
    """Every Function reachable from the roots' grad_fns, each after all its consumers.

    Iterative depth-first search (an explicit stack, not recursion), so a chain of
    100,000 ops works. A Function hashes by identity, so it is its own key.
    """
    order, visited = [], set()
    stack = [(r.grad_fn, False) for r in roots if r.grad_fn is not None]
    push, pop, append, visit = stack.append, stack.pop, order.append, visited.add
    while stack:
        fn, children_done = pop()
        if children_done:
            append(fn)
            continue
        if fn in visited:
            continue
        visit(fn)
        push((fn, True))
        for t in fn.inputs:
            child = t.grad_fn
            if child is not None and child not in visited:
                push((child, False))
    order.reverse()   # consumers before producers
    return order


def _add_grad(grads, t, g):
    """Sum g into the gradient waiting for t's grad_fn (one slot per output)."""
    fn = t.grad_fn
    if fn.n_outputs is None:
        old = grads.get(fn)
        grads[fn] = g if old is None else old + g
        return
    slots = grads.get(fn)
    if slots is None:
        slots = grads[fn] = [None] * fn.n_outputs
    i = t.output_nr
    slots[i] = g if slots[i] is None else slots[i] + g


def _shape_error(fn, g, shape):
    return RuntimeError(
        f"{fn.name}Backward returned a gradient of shape {tuple(g.shape)} for an "
        f"input of shape {tuple(shape)}; a backward must return each gradient "
        f"shaped like its input (an engine bug in {fn.name})")


def _private(g, shared):
    """g, or a copy of it, safe to store as a leaf's .grad.

    Backwards may hand one array to several inputs (add), return views of another
    array (reshape, permute) or read-only broadcasts (sum). A leaf's .grad must own
    its memory, so that `x.grad.zero_()` or an in-place update of one gradient can
    neither fail nor change another tensor's gradient.
    """
    if shared or g.base is not None or not getattr(g.flags, 'writeable', True):
        return g.copy()
    return g


def _seed(tensor, gradient, op):
    """The starting gradient for one root: ones for a scalar, else the given one."""
    if not tensor.requires_grad:
        raise RuntimeError(
            f"{op}: element 0 of tensors does not require grad and has no grad_fn; "
            f"create the leaves with requires_grad=True (and call outside mt.no_grad())")
    if gradient is None:
        if tensor.array.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs, but the "
                f"output has shape {tuple(tensor.shape)}; pass gradient= (same shape) or reduce "
                f"first, e.g. loss.sum().backward()")
        return tensor.xp.ones_like(tensor.array), False
    grad = gradient.array if isinstance(gradient, Tensor) else tensor.xp.asarray(gradient)
    if grad.shape != tensor.array.shape:
        raise RuntimeError(
            f"{op}: gradient has shape {tuple(grad.shape)} but the output has shape "
            f"{tuple(tensor.shape)}; they must match")
    return grad.astype(tensor.array.dtype, copy=False), True


def _run_hooks(hooks, g):
    for hook in hooks:
        result = hook(Tensor._wrap(g))
        if result is not None:
            g = result.array if isinstance(result, Tensor) else result
    return g


def run_backward(roots, seeds, retain_graph=False, capture=None, op='backward'):
    """The reverse sweep. Accumulates into the leaves' .grad, or, when `capture` maps
    (grad_fn id or leaf id, output_nr) -> slot, returns the gradients of those tensors
    instead (autograd.grad), touching no .grad."""
    captured = {} if capture is not None else None
    handed = set()                       # arrays already owned elsewhere
    grads = {}                           # grad_fn id -> gradient w.r.t. its output(s)
    leaf_roots = []
    for t, (g, given) in zip(roots, seeds):
        if t._base is not None and t._view_version != t._vc[0]:
            t._refresh_view()
        if given:
            handed.add(id(g))
        if t.grad_fn is None:
            leaf_roots.append((t, g))
        else:
            _add_grad(grads, t, g)
    hooked = _post_accumulate_hooks and capture is None
    for t, g in leaf_roots:                # a leaf root: its gradient is the seed itself
        _deliver_leaf(t, g, handed, captured, capture)
        if hooked:
            _run_post_accumulate_hooks(t)

    order = _topological_order(roots)
    hooks_at = _hooked_leaves_by_last_use(order) if hooked else None
    reached = set()                     # hooked leaves that received a gradient
    plain = capture is None and not hooked
    for i, fn in enumerate(order):
        out_grad = grads.pop(fn, None)
        if out_grad is None:            # no path from the roots reaches this op's output
            if hooks_at and i in hooks_at:
                _fire(hooks_at[i], reached)
            continue
        hooks = fn.__dict__
        pre = hooks.get('_pre_hooks')
        if pre or capture is not None:
            out_grad = _node_entry(fn, out_grad, pre, captured, capture)
        if fn.saved is None or fn.saved_versions is not None:
            fn.check_saved()
        in_grads = fn.backward(out_grad)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for t, needs, g in zip(fn.inputs, fn.needs_grad, in_grads):
            if not needs or g is None:
                continue
            producer = t.grad_fn
            if producer is None:        # a leaf: its gradient is complete here
                if g.shape != t.array.shape:
                    raise _shape_error(fn, g, t.array.shape)
                if plain and t._hooks is None:
                    t._accumulate_grad(_private(g, id(g) in handed))
                else:
                    _deliver_leaf(t, g, handed, captured, capture)
                handed.add(id(g))
                if hooks_at is not None:
                    reached.add(id(t))
            else:
                if g.shape != t.shape:
                    raise _shape_error(fn, g, t.shape)
                if producer.n_outputs is None:
                    old = grads.get(producer)
                    grads[producer] = g if old is None else old + g
                else:
                    _add_grad(grads, t, g)
        post = hooks.get('_post_hooks')
        if post:
            for hook in post:
                hook(in_grads, out_grad)
        if not retain_graph and fn.saved:
            fn.release()
        if hooks_at and i in hooks_at:
            _fire(hooks_at[i], reached)
    return captured


def _node_entry(fn, out_grad, pre, captured, capture):
    """Gradient hooks and retain_grad of non-leaf tensors (per output slot), and
    autograd.grad's capture of a non-leaf input."""
    multi = fn.n_outputs is not None
    slots = list(out_grad) if multi else [out_grad]
    for i, g in enumerate(slots):
        if g is None:
            continue
        for nr, hook in (pre or ()):
            if nr == i:
                g = _run_hooks((hook,), g)
        slots[i] = g
        if capture is not None and (id(fn), i) in capture:
            captured[capture[(id(fn), i)]] = g
    return slots if multi else slots[0]


def _deliver_leaf(t, g, handed, captured, capture):
    if t._hooks:
        g = _run_hooks(t._hooks, g)
    if capture is not None:
        slot = capture.get((id(t), 0))
        if slot is not None:
            captured[slot] = g if slot not in captured else captured[slot] + g
        return
    t._accumulate_grad(_private(g, id(g) in handed))


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """mt.autograd.backward: fill .grad of every leaf from one or several roots."""
    if create_graph:
        raise NotImplementedError(
            "backward: create_graph=True (higher-order gradients) is not supported by minitensor; "
            "gradients are computed on raw arrays, without a graph of their own")
    if inputs is not None:
        raise NotImplementedError("backward: inputs= is not supported; use mt.autograd.grad")
    roots = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    if grad_tensors is None or not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = [grad_tensors] * len(roots)
    seeds = [_seed(t, g, 'backward') for t, g in zip(roots, grad_tensors)]
    run_backward(roots, seeds, bool(retain_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """mt.autograd.grad: the gradients of outputs w.r.t. inputs, returned (no .grad is
    touched). create_graph=True is not supported."""
    if create_graph:
        raise NotImplementedError(
            "grad: create_graph=True (higher-order gradients) is not supported by minitensor; "
            "gradients are computed on raw arrays, without a graph of their own")
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    single = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs] * len(outputs)
    capture = {}
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
        if t._base is not None and t._view_version != t._vc[0]:
            t._refresh_view()
        key = (id(t), 0) if t.grad_fn is None else (id(t.grad_fn), t.output_nr)
        capture.setdefault(key, i)
    seeds = [_seed(t, g, 'grad') for t, g in zip(outputs, grad_outputs)]
    retain = bool(retain_graph) if retain_graph is not None else False
    captured = run_backward(outputs, seeds, retain, capture)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(capture[(id(t), 0) if t.grad_fn is None else (id(t.grad_fn), t.output_nr)])
        if g is None:
            if materialize_grads:
                g = t.xp.zeros_like(t.array)
            elif not allow_unused:
                raise RuntimeError(
                    f"grad: one of the differentiated tensors (input {i}) appears to not have "
                    f"been used in the graph. Set allow_unused=True if this is the desired behavior.")
            else:
                result.append(None)
                continue
        if g.dtype != t.dtype:
            g = g.astype(t.dtype)
        result.append(Tensor._wrap(g.copy() if g.base is not None else g))
    return tuple(result)


def tensor_backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Tensor.backward: one root."""
    backward([tensor], [gradient], retain_graph, create_graph, inputs)


_weakref = weakref   # retain_grad's hooks hold their tensor weakly (tensor.py)
