"""The autograd core: Function (one op = forward + backward), grad mode, backward().

A Function's forward and backward work on raw backend arrays (numpy or cupy).
`Function.apply` wraps the result in a Tensor that remembers the Function (its
`grad_fn`) and the input Tensors, so `backward()` can walk the graph in reverse.

Rule that keeps this simple and fast: gradient arrays are never modified in place.
A backward may therefore hand the very same array to two inputs (as `a + b` does).
"""
import functools
import weakref

_grad_enabled = True
Tensor = None      # minitensor.tensor.Tensor; tensor.py binds it when it loads (it imports this module)


def is_grad_enabled():
    return _grad_enabled


def set_grad_enabled(mode):
    global _grad_enabled
    _grad_enabled = bool(mode)


class no_grad:
    """Context manager and decorator: ops inside record no graph (inference, updates)."""

    def __enter__(self):
        self.prev = is_grad_enabled()
        set_grad_enabled(False)

    def __exit__(self, *exc):
        set_grad_enabled(self.prev)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Re-enable graph recording inside a no_grad block."""

    def __enter__(self):
        self.prev = is_grad_enabled()
        set_grad_enabled(True)


class Edge:
    """What backward needs of a non-leaf (or constant) input: where its gradient goes,
    and its shape. Not the Tensor, whose array would then live until backward even
    when no backward formula uses it (torch frees such activations too)."""
    __slots__ = ('grad_fn', 'output_nr', 'shape')

    def __init__(self, t):
        self.grad_fn, self.output_nr, self.shape = t.grad_fn, t.output_nr, t.array.shape


class Function:
    """Base of every differentiable op: subclasses define forward() and backward().

    forward(*arrays, **options) -> array      (options are non-tensor arguments)
    backward(grad) -> one gradient per tensor input (or None), each already shaped
                      like that input.

    A forward may return a tuple of arrays (split does): apply then returns a tuple
    of Tensors, and backward receives a list with one gradient per output (None for
    an output that no path from the loss reaches).
    """
    __slots__ = ('inputs', 'saved', 'needs_grad', '__dict__')

    def save_for_backward(self, *arrays):
        self.saved = arrays

    @classmethod
    def apply(cls, *inputs, **options):
        ctx = cls()
        out = ctx.forward(*[t.array for t in inputs], **options)
        requires_grad = _grad_enabled and any(t.requires_grad for t in inputs)
        if requires_grad:
            # leaves that need a gradient stay (it accumulates into them); any other input
            # is kept as an Edge, so its array is freed once no op's saved values hold it
            ctx.inputs = tuple(t if t.grad_fn is None and t.requires_grad else Edge(t) for t in inputs)
            ctx.needs_grad = tuple(t.requires_grad for t in inputs)
        else:
            ctx = None
        if isinstance(out, tuple):              # several outputs: each knows its position
            outs = tuple(Tensor._wrap(o, requires_grad, ctx) for o in out)
            for i, t in enumerate(outs):
                t.output_nr = i
            if ctx is not None:
                ctx.n_outputs = len(outs)
            return outs
        return Tensor._wrap(out, requires_grad, ctx)

    def release(self):
        """Drop what backward needed, so the memory goes back right after use."""
        self.saved = None
        self.inputs = None
        self.__dict__.clear()

    @property
    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name}Backward>"


# ------------------------------------------------------------ post-accumulate-grad hooks

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


def _topological_order(root):
    """Every Function reachable from root's grad_fn, each after all its consumers.

    Iterative depth-first search (an explicit stack, not recursion), so a chain of
    100,000 ops works.
    """
    order, visited = [], set()
    stack = [(root.grad_fn, False)]
    while stack:
        fn, children_done = stack.pop()
        if children_done:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        if fn.inputs is None:
            raise RuntimeError(
                f"backward: trying to backward through the graph a second time (through "
                f"{fn.name}); its saved values were freed after the first backward. "
                f"Pass retain_graph=True to the first backward if you need this.")
        for t in fn.inputs:
            if t.grad_fn is not None and id(t.grad_fn) not in visited:
                stack.append((t.grad_fn, False))
    order.reverse()   # consumers before producers
    return order


def _add_grad(grads, t, g):
    """Sum g into the gradient waiting for t's grad_fn (one slot per output)."""
    fn, key = t.grad_fn, id(t.grad_fn)
    n_outputs = getattr(fn, 'n_outputs', None)   # set only when forward returned a tuple,
    if n_outputs is None:                         # even a 1-tuple (a split into one piece)
        grads[key] = g if key not in grads else grads[key] + g
        return
    slots = grads.setdefault(key, [None] * n_outputs)
    i = t.output_nr
    slots[i] = g if slots[i] is None else slots[i] + g


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


def backward(tensor, gradient=None, retain_graph=False):
    """Reverse-mode sweep from `tensor`: fill .grad on every leaf that requires grad."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no grad_fn; "
            "create the leaves with requires_grad=True (and call outside mt.no_grad())")
    if gradient is None:
        if tensor.array.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, but the "
                f"output has shape {tuple(tensor.shape)}; pass gradient= (same shape) or reduce "
                f"first, e.g. loss.sum().backward()")
        grad = tensor.xp.ones_like(tensor.array)
    else:
        grad = gradient.array if isinstance(gradient, Tensor) else tensor.xp.asarray(gradient)
        if grad.shape != tensor.array.shape:
            raise RuntimeError(
                f"backward: gradient has shape {tuple(grad.shape)} but the output has shape "
                f"{tuple(tensor.shape)}; they must match")
        grad = grad.astype(tensor.array.dtype, copy=False)

    if tensor.grad_fn is None:          # a leaf: its gradient is the seed itself
        tensor._accumulate_grad(_private(grad, gradient is not None))
        if _post_accumulate_hooks:
            _run_post_accumulate_hooks(tensor)
        return

    handed = set() if gradient is None else {id(grad)}   # arrays already owned elsewhere
    grads = {}                          # grad_fn id -> gradient w.r.t. its output(s)
    _add_grad(grads, tensor, grad)
    order = _topological_order(tensor)
    hooks_at = _hooked_leaves_by_last_use(order) if _post_accumulate_hooks else None
    reached = set()                     # hooked leaves that received a gradient
    for i, fn in enumerate(order):
        out_grad = grads.pop(id(fn), None)
        if out_grad is None:            # no path from the root reaches this op's output
            if hooks_at and i in hooks_at:
                _fire(hooks_at[i], reached)
            continue
        in_grads = fn.backward(out_grad)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for t, needs, g in zip(fn.inputs, fn.needs_grad, in_grads):
            if not needs or g is None:
                continue
            assert g.shape == t.shape, (
                f"{fn.name}.backward returned a gradient of shape {g.shape} "
                f"for an input of shape {t.shape}")
            if t.grad_fn is None:
                t._accumulate_grad(_private(g, id(g) in handed))
                handed.add(id(g))
                if hooks_at is not None:
                    reached.add(id(t))
            else:
                _add_grad(grads, t, g)
        if not retain_graph:
            fn.release()
        if hooks_at and i in hooks_at:
            _fire(hooks_at[i], reached)


def _fire(leaves, reached):
    """Post-accumulate hooks of the leaves whose last use just ran, if they got a gradient."""
    for t in leaves:
        if id(t) in reached:
            _run_post_accumulate_hooks(t)
