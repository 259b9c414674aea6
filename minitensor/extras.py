"""The torch-level functions added beside the core (exported by __init__ through __all__):
function forms of the methods in tensor_extras.py, polygamma(n, x), and the
torch.special namespace."""
from . import special  # noqa: F401
from .creation import _method
from .tensor_extras import EXTRA_FUNCTION_FORMS


def polygamma(n, input):
    """torch.polygamma(n, input): the n-th derivative of digamma."""
    return input.polygamma(n)


globals().update({name: _method(name) for name in EXTRA_FUNCTION_FORMS})

__all__ = ['special', 'polygamma', *EXTRA_FUNCTION_FORMS]
