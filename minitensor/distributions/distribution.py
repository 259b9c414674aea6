"""The Distribution base of torch.distributions: batch/event shapes, sample vs rsample,
and the shape of a draw (sample_shape + batch_shape + event_shape)."""
from .. import creation
from ..autograd import no_grad
from ..size import Size
from ..tensor import Tensor


def as_tensor(value, like=None):
    """A Python number or array as a float tensor (the dtype/device of `like` if given)."""
    if isinstance(value, Tensor):
        return value
    if like is not None:
        return like._operand(value, 'distribution')
    return creation.tensor(float(value) if not isinstance(value, (list, tuple)) else value)


def broadcast_all(*values):
    """The parameters as tensors of one broadcast shape and float dtype (numbers follow the tensors)."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    tensors = [as_tensor(v, like) for v in values]
    if all(t.dtype.kind != 'f' for t in tensors):
        tensors = [t.float() for t in tensors]
    dtype = next(t.dtype for t in tensors if t.dtype.kind == 'f')
    tensors = [t.to(dtype) for t in tensors]
    return creation.broadcast_tensors(*tensors)


class Distribution:
    """A batch of distributions: `batch_shape` independent ones, each over `event_shape` values."""
    has_rsample = False
    _validate_default = True

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = tuple(batch_shape), tuple(event_shape)
        self._validate_args = self._validate_default if validate_args is None else validate_args

    @property
    def batch_shape(self):
        return Size(self._batch_shape)

    @property
    def event_shape(self):
        return Size(self._event_shape)

    def _extended_shape(self, sample_shape=()):
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    def sample(self, sample_shape=()):
        """A draw without gradient (rsample under no_grad where there is one)."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} does not support rsample (reparameterized sampling)")

    def sample_n(self, n):
        return self.sample((n,))

    def log_prob(self, value):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def perplexity(self):
        return self.entropy().exp()

    @property
    def stddev(self):
        return self.variance.sqrt()

    def _check(self, ok, message):
        if self._validate_args and not bool(ok):
            raise ValueError(f"{type(self).__name__}: {message}")

    def __repr__(self):
        shown = [k for k in ('probs', 'logits', 'loc', 'scale', 'low', 'high') if k in self.__dict__]
        params = ', '.join(f"{k}: {self.__dict__[k].shape if self.__dict__[k].ndim else self.__dict__[k]}"
                           for k in shown)
        return f"{type(self).__name__}({params})"

