"""Parameter: a leaf Tensor that a Module registers as trainable."""
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that requires grad and is found by Module.parameters()."""
    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data.detach() if isinstance(data, Tensor) else data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
