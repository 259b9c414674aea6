"""Broadcasting: the shape rule for binary ops and its gradient mirror, unbroadcast."""
from ..cuda.blas import sum_leading


def broadcast_shape(op, a_shape, b_shape):
    """The broadcast result shape, or a torch-style error naming the clashing dim."""
    ndim = max(len(a_shape), len(b_shape))
    a = (1,) * (ndim - len(a_shape)) + tuple(a_shape)
    b = (1,) * (ndim - len(b_shape)) + tuple(b_shape)
    out = []
    for dim, (m, n) in enumerate(zip(a, b)):
        if m != n and m != 1 and n != 1:
            raise RuntimeError(
                f"{op}: the size of tensor a ({m}) must match the size of tensor b ({n}) at "
                f"non-singleton dimension {dim} (shapes {tuple(a_shape)} and {tuple(b_shape)} "
                f"do not broadcast; sizes must be equal or one of them 1)")
        out.append(max(m, n) if m != 0 and n != 0 else 0)
    return tuple(out)


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`: the gradient of broadcasting an input of that shape.

    Broadcasting copies the input along (1) new leading axes and (2) its size-1 axes,
    so the chain rule adds up the gradient over exactly those axes.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = sum_leading(grad, extra)              # grad.sum(axis=(0, ..., extra - 1)); GEMV if fast_paths
    size_one_axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if size_one_axes:
        grad = grad.sum(axis=size_one_axes, keepdims=True)
    return grad
