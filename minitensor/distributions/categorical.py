"""Categorical and OneHotCategorical: K classes per batch element, given probs or logits."""
import numpy as np

from .. import creation
from ..nn import functional as F
from .distribution import Distribution, as_tensor


def _clamp_probs(p):
    eps = float(np.finfo(p.dtype).eps)
    return p.clamp(eps, 1 - eps)


class Categorical(Distribution):
    """Draws class indices 0..K-1 with the given probabilities (normalized along the last dim)."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            probs = as_tensor(probs)
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self._param = probs
        else:
            logits = as_tensor(logits)
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            self._param = logits
        self._num_events = self._param.shape[-1]
        super().__init__(tuple(self._param.shape[:-1]), (), validate_args)
        if probs is not None:
            self._check((probs.detach() >= 0).all() & probs.detach().isfinite().all(),
                        "probs must be non-negative and finite")

    def __getattr__(self, name):            # the other parameterization, computed on first use
        if name == 'probs':
            self.probs = self.logits.softmax(-1)
            return self.probs
        if name == 'logits':
            self.logits = _clamp_probs(self.probs).log()
            return self.logits
        raise AttributeError(name)

    @property
    def param_shape(self):
        return self._param.shape

    @property
    def mean(self):
        return creation.full(self._extended_shape(), float('nan'), dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return creation.full(self._extended_shape(), float('nan'), dtype=self.probs.dtype)

    def sample(self, sample_shape=()):
        """torch's algorithm (multinomial with replacement over the flattened batch), so a
        seeded draw is torch's draw."""
        sample_shape = tuple(sample_shape)
        n = int(np.prod(sample_shape)) if sample_shape else 1
        probs_2d = self.probs.detach().reshape(-1, self._num_events)
        samples_2d = creation.multinomial(probs_2d, n, True).t()
        return samples_2d.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        value = as_tensor(value).long().unsqueeze(-1)
        value, log_pmf = creation.broadcast_tensors(value, self.logits)
        value = value[..., :1]
        if value.numel() and (int(value.min()) < 0 or int(value.max()) >= self._num_events):
            raise ValueError(f"Categorical.log_prob: values must be in 0..{self._num_events - 1}")
        return log_pmf.gather(-1, value).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = creation.arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values


class OneHotCategorical(Distribution):
    """Categorical draws as one-hot vectors (event shape (K,))."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args)
        super().__init__(self._categorical._batch_shape, (self._categorical._num_events,), validate_args)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return F.one_hot(self.probs.argmax(-1), self._event_shape[0]).to(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        return F.one_hot(self._categorical.sample(sample_shape), self._event_shape[0]).to(self.probs.dtype)

    def log_prob(self, value):
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()
