"""mt.gradcheck: compare backward() with central finite differences in float64."""
import numpy as np

from .autograd import no_grad
from .backend import to_device
from .tensor import Tensor


def _as_output_scalar(out, weights):
    """Reduce fn's output(s) to one number with fixed random weights, so one backward
    checks every output element at once: L = sum_i w_i * out_i."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = None
    for o, w in zip(outs, weights):
        if not isinstance(o, Tensor) or o.dtype.kind != 'f':
            continue
        term = (o * Tensor._wrap(w)).sum()
        total = term if total is None else total + term
    return total


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, max_elements=200, seed=0):
    """Check fn's analytic gradients against central differences, (f(x+e) - f(x-e)) / 2e.

    inputs: a tuple of Tensors; those with requires_grad=True are checked, and must
    be float64 (float32 differences are too coarse to check anything).
    Checks every element, or a random subset of `max_elements` per input for big ones.
    Returns True, or raises AssertionError naming the worst element.
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    for t in checked:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs must be float64 for finite differences to be "
                            f"meaningful, got {t.dtype}; use .double()")

    rng = np.random.default_rng(seed)
    with no_grad():
        out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    weights = [t.xp.asarray(rng.standard_normal(t.shape)) if isinstance(t, Tensor) else None
               for t in outs]

    for t in checked:
        t.grad = None
    loss = _as_output_scalar(fn(*inputs), weights)
    if loss is None or not loss.requires_grad:
        raise ValueError("gradcheck: fn's output does not depend on any input that requires grad")
    loss.backward()

    def numeric_loss():
        with no_grad():
            return float(_as_output_scalar(fn(*inputs), weights).item())

    for n, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        analytic = np.zeros(t.shape) if t.grad is None else to_device(t.grad.array, 'cpu')
        if not t.array.flags.c_contiguous:   # (not ascontiguousarray: it makes 0-d arrays 1-d)
            t.array = t.array.copy(order='C')
        flat = t.array.reshape(-1)       # a view: writing it perturbs the input in place
        size = flat.size
        picks = range(size) if size <= max_elements else rng.choice(size, max_elements, replace=False)
        worst = None
        for i in picks:
            i = int(i)
            orig = float(flat[i])
            flat[i] = orig + eps
            plus = numeric_loss()
            flat[i] = orig - eps
            minus = numeric_loss()
            flat[i] = orig
            numeric = (plus - minus) / (2 * eps)
            a = float(analytic.reshape(-1)[i])
            err = abs(a - numeric)
            # `not <=` so that a NaN on either side counts as a mismatch (NaN > x is False)
            if not err <= atol + rtol * abs(numeric) and (worst is None or not err <= worst[0]):
                worst = (err, i, a, numeric)
        if worst is not None:
            err, i, a, numeric = worst
            index = np.unravel_index(i, t.shape) if t.shape else ()
            raise AssertionError(
                f"gradcheck: gradient of input {n} (shape {t.shape}) is wrong at index "
                f"{tuple(int(j) for j in index)}: analytic {a:.6g} vs numeric {numeric:.6g} "
                f"(|diff| {err:.3g} > atol {atol} + rtol {rtol} * |numeric|)")
    return True
