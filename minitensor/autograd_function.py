"""torch-style custom Functions: subclasses of mt.autograd.Function whose forward and backward
are @staticmethods taking `ctx` and Tensors (the PyTorch tutorial's way),

    class MyReLU(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return grad_output * (x > 0)

    y = MyReLU.apply(x)

run through a Bridge: an engine Function (arrays in, arrays out) whose forward calls the
user's forward on Tensors under no_grad and whose backward calls the user's backward on
Tensors. Function.__init_subclass__ routes such subclasses' apply here, so the engine's
own Functions keep their direct path.
"""
from .autograd import Function, no_grad


class FunctionCtx:
    """What the user's forward and backward share: saved tensors and any attributes."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self.saved_tensors = tuple(tensors)

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable = tensors

    def mark_dirty(self, *tensors):
        self.dirty = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class Bridge(Function):
    """Runs a torch-style Function inside the engine (see the module docstring)."""

    def forward(self, *arrays, fn=None, ctx=None, args=(), kwargs=None, positions=()):
        from .tensor import Tensor
        call = list(args)
        for array, i in zip(arrays, positions):                       # the tensor args, rebuilt
            call[i] = Tensor._wrap(array)
        with no_grad():
            out = fn.forward(ctx, *call, **(kwargs or {}))
        self.fn, self.ctx, self.positions, self.n_args = fn, ctx, positions, len(args)
        self.shapes = [a.shape for a in arrays]
        if isinstance(out, tuple):
            self.n_outputs = len(out)
            self.out_meta = [(o.shape, o.dtype) for o in out]
            return tuple(o.array for o in out)
        self.out_meta = [(out.shape, out.dtype)]
        return out.array

    def backward(self, grads):
        from .tensor import Tensor
        grads = grads if isinstance(grads, list) else [grads]
        tensors = []
        for g, (shape, dtype) in zip(grads, self.out_meta):
            if g is None and self.ctx.materialize_grads:
                import numpy as np
                tensors.append(Tensor._wrap(np.zeros(shape, dtype=dtype)))
            else:
                tensors.append(None if g is None else Tensor._wrap(g))
        with no_grad():
            result = self.fn.backward(self.ctx, *tensors)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != self.n_args:
            raise RuntimeError(f"function {self.fn.__name__}Backward returned an incorrect number of gradients "
                               f"(expected {self.n_args}, got {len(result)})")
        out = []
        for i, shape in zip(self.positions, self.shapes):
            r = result[i]
            if r is None:
                out.append(None)
                continue
            array = r.array if isinstance(r, Tensor) else r
            if tuple(array.shape) != tuple(shape):
                raise RuntimeError(f"function {self.fn.__name__}Backward returned an invalid gradient at index "
                                   f"{i} - got {list(array.shape)} but expected shape compatible with {list(shape)}")
            out.append(array)
        return tuple(out) if len(out) != 1 else out[0]


def apply(fn, *args, **kwargs):
    """fn.apply(*args): the user's forward on Tensors, recorded in the graph as one node."""
    from .tensor import Tensor
    positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
    return Bridge.apply(*(args[i] for i in positions), fn=fn, ctx=ctx, args=args, kwargs=kwargs,
                        positions=positions)


def once_differentiable(fn):
    """torch.autograd.function.once_differentiable: accepted (minitensor's backward never builds a graph)."""
    return fn
