"""Size: a tensor's shape, a tuple that prints as `minitensor.Size([2, 3])` (torch.Size)."""


class Size(tuple):
    """The shape of a tensor: a tuple of ints (equal to the plain tuple), with numel().

    print(x.shape) and repr show `minitensor.Size([2, 3])` as torch; inside an f-string
    it reads `(2, 3)`, the form every error message of the engine uses.
    """
    __slots__ = ()

    def __repr__(self):
        return f"minitensor.Size({list(self)})"

    __str__ = __repr__

    def __format__(self, spec):
        return format(tuple.__repr__(self), spec)

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other))) if isinstance(other, tuple) else NotImplemented

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self)) if isinstance(other, tuple) else NotImplemented
