"""Uniform(low, high) on [low, high), with reparameterized sampling."""
from .. import creation
from .distribution import Distribution, broadcast_all


class Uniform(Distribution):
    """Uniform on the half-open interval [low, high) (broadcast together)."""
    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(tuple(self.low.shape), (), validate_args)
        self._check((self.low.detach() < self.high.detach()).all(), "low must be smaller than high")

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = creation.rand(shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        v = value.detach() if hasattr(value, 'detach') else value
        self._check(((self.low.detach() <= v) & (self.high.detach() > v)).all(),
                    f"log_prob: expected values within the support [low, high), got {value}")
        inside = ((self.low <= value) & (self.high > value)).to(self.low.dtype)
        return inside.log() - (self.high - self.low).log()

    def cdf(self, value):
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()
