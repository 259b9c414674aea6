"""Bernoulli(probs or logits): draws of 0.0 / 1.0."""
import numpy as np

from .. import creation
from ..nn import functional as F
from .distribution import Distribution, as_tensor


class Bernoulli(Distribution):
    """1 with probability `probs` (or sigmoid(`logits`)), else 0."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.probs = as_tensor(probs)
            if self.probs.dtype.kind != 'f':
                self.probs = self.probs.float()
            param = self.probs
        else:
            self.logits = as_tensor(logits)
            if self.logits.dtype.kind != 'f':
                self.logits = self.logits.float()
            param = self.logits
        super().__init__(tuple(param.shape), (), validate_args)
        if probs is not None:
            p = self.probs.detach()
            self._check(((p >= 0) & (p <= 1)).all(), "probs must be in [0, 1]")

    def __getattr__(self, name):
        if name == 'probs':
            self.probs = self.logits.sigmoid()
            return self.probs
        if name == 'logits':
            eps = float(np.finfo(self.probs.dtype).eps)
            p = self.probs.clamp(eps, 1 - eps)
            self.logits = p.log() - (-p).log1p()
            return self.logits
        raise AttributeError(name)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return (self.probs > 0.5).to(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return creation.bernoulli(self.probs.detach().expand(shape))

    def log_prob(self, value):
        value = as_tensor(value, self.logits).to(self.logits.dtype)
        v = value.detach()
        self._check(((v == 0) | (v == 1)).all(), f"log_prob: expected values in {{0, 1}}, got {value}")
        logits, value = creation.broadcast_tensors(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction='none')

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction='none')

    def enumerate_support(self, expand=True):
        values = creation.tensor([0.0, 1.0], dtype=self.probs.dtype).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + self._batch_shape) if expand else values
