"""torch.distributions' common part: Categorical, OneHotCategorical, Normal, Bernoulli,
Uniform and kl_divergence (the ones policy-gradient and VAE examples use).

Parameters are Tensors (numbers are accepted); log_prob, entropy and rsample are
differentiable compositions, so gradients reach the parameters. Categorical.sample uses
torch's algorithm, so a seeded draw matches torch's.
"""
from . import bernoulli, categorical, kl, normal, uniform  # noqa: F401  (torch's submodule paths)
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .kl import kl_divergence
from .normal import Normal
from .uniform import Uniform

__all__ = ['Bernoulli', 'Categorical', 'Distribution', 'Normal', 'OneHotCategorical', 'Uniform',
           'kl_divergence']
