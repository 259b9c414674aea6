"""The errors the commands report as one line; anything else is a bug and keeps its traceback."""


class UserError(ValueError):
    """A mistake in the user's settings, files or data, said in one line with what to do instead."""


OUT_OF_MEMORY_NAMES = ('MemoryError', 'OutOfMemoryError')   # NumPy's and CuPy's (cupy.cuda.memory)


def is_out_of_memory(error):
    """True for NumPy's MemoryError and CuPy's OutOfMemoryError, without importing CuPy."""
    return any(cls.__name__ in OUT_OF_MEMORY_NAMES for cls in type(error).__mro__)


class ConfigError(UserError):
    """A bad setting; `names` are the fields involved, so a command can name their flags."""

    def __init__(self, message, *names):
        super().__init__(message)
        self.names = names
