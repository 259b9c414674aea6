"""kl_divergence(p, q) for the pairs torch programs use (same family on both sides)."""
import math

from .. import creation
from ..nn import functional as F
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .normal import Normal
from .uniform import Uniform


def _kl_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


def _kl_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    inf = creation.full_like(t, math.inf)
    t = creation.where((q.probs == 0).expand(t.shape), inf, t)
    t = creation.where((p.probs == 0).expand(t.shape), creation.zeros_like(t), t)
    return t.sum(-1)


def _kl_bernoulli(p, q):
    inf, zero = math.inf, 0.0
    t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    t1 = creation.where(q.probs == 0, creation.full_like(t1, inf), t1)
    t1 = creation.where(p.probs == 0, creation.full_like(t1, zero), t1)
    t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    t2 = creation.where(q.probs == 1, creation.full_like(t2, inf), t2)
    t2 = creation.where(p.probs == 1, creation.full_like(t2, zero), t2)
    return t1 + t2


def _kl_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low > p.low) | (q.high < p.high)
    return creation.where(outside, creation.full_like(result, math.inf), result)


_KL = {(Normal, Normal): _kl_normal, (Categorical, Categorical): _kl_categorical,
       (Bernoulli, Bernoulli): _kl_bernoulli, (Uniform, Uniform): _kl_uniform}


def kl_divergence(p, q):
    """KL(p || q), elementwise over the batch."""
    if isinstance(p, OneHotCategorical) and isinstance(q, OneHotCategorical):
        return _kl_categorical(p._categorical, q._categorical)
    fn = _KL.get((type(p), type(q)))
    if fn is None:
        raise NotImplementedError(f"kl_divergence: no KL divergence for {type(p).__name__} and "
                                  f"{type(q).__name__}")
    return fn(p, q)
