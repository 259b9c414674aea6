"""Exception classes that are two of Python's at once: where torch raises one class and
minitensor first raised another, the error is both, so code catching either still works."""


class ShapeError(RuntimeError, ValueError):
    """Arguments whose shapes or counts do not fit (torch: RuntimeError)."""


class BadArgument(RuntimeError, ValueError):
    """An argument outside the values an op accepts (torch: RuntimeError)."""


class BadTarget(RuntimeError, TypeError):
    """A loss target of the wrong kind or shape for the input (torch: RuntimeError)."""


class DtypeMismatch(RuntimeError, TypeError):
    """Operands of dtypes an op cannot combine (torch: RuntimeError)."""
