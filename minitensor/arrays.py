"""Backend arrays from user data: the one place Python numbers, nested lists and
NumPy/CuPy arrays become the array a Tensor holds, with torch's default dtypes."""
import numpy as np

from . import autograd, dtypes
from .backend import device_of, normalize_device, to_device, xp_of


def is_xp_array(x):
    """True for a CuPy (or any CUDA array interface) array."""
    return hasattr(x, '__cuda_array_interface__')


def as_array(data, dtype=None, device=None, copy=True):
    """Python numbers, nested lists, numpy/cupy arrays or Tensors -> a backend array.

    Python floats become float32 and ints int64 (torch's defaults); an array keeps
    its dtype. The array goes to `device` if given, else stays where it lives.
    """
    if isinstance(data, autograd.Tensor):      # bound by tensor.py (it imports this module)
        data = data.array
    if isinstance(data, (np.ndarray, np.generic)) or is_xp_array(data):
        array = data
    else:
        try:
            array = np.asarray(data)
        except ValueError:      # NumPy refuses ragged nested lists
            raise ValueError("tensor: the nested lists are ragged (rows of different lengths); "
                             "every row at a given depth must have the same length") from None
        if dtype is None and array.dtype == np.float64:
            array = array.astype(dtypes.default_float)     # float32 unless set_default_dtype said otherwise
        elif dtype is None and array.dtype.kind in 'iu':
            array = array.astype(np.int64)
        elif array.dtype == object:
            raise TypeError(f"tensor: could not convert data of type {type(data).__name__} to an array "
                            f"(ragged nested lists?)")
        copy = False
    if device is not None and normalize_device(device) != device_of(array):
        array = to_device(array, normalize_device(device))
        copy = False
    xp = xp_of(array)
    array = xp.array(array, copy=True) if copy else xp.asarray(array)
    if dtype is not None:
        array = array.astype(dtypes.to_dtype(dtype), copy=False)
    return array
