"""torch names that programs call around the model, accepted here with what they mean
for minitensor: mt.compile (no compiler: the model runs eagerly), mt.get_default_dtype."""
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
    """The dtype of tensors made from Python floats: always float32 in minitensor."""
    return dtypes.float32
