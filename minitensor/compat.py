"""torch names that programs call around the model, accepted here with what they mean
for minitensor: mt.compile (no compiler: the model runs eagerly), mt.get/set_default_dtype."""
from . import dtypes


def compile(model=None, **options):
    """torch.compile's signature; returns `model` unchanged (minitensor runs eagerly).

    As torch, `mt.compile(model)` and `@mt.compile` / `@mt.compile(mode=...)` all work.
    Options (mode, fullgraph, dynamic, backend, ...) are accepted and ignored.
    """
    if model is None:
        return lambda fn: fn
    return model


def get_default_dtype():
    """The dtype of tensors made from Python floats and of float factories (float32 unless
    set_default_dtype changed it)."""
    return dtypes.default_float


def set_default_dtype(d):
    """torch.set_default_dtype: float32 or float64 becomes the dtype of tensors made from
    Python floats, of float factories (zeros, randn, arange with floats, ...) and of float
    math on integer tensors."""
    d = dtypes.to_dtype(d)
    if d not in (dtypes.float32, dtypes.float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported as the default "
                        f"type, got {d}")
    dtypes.default_float = dtypes.wrap(d)
