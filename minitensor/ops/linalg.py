"""Vector norms and einsum.

Einsum's backward is itself an einsum per operand: contract the output gradient with
the other operands onto that operand's subscripts.
"""
import math

from ..autograd import Function
from ..backend import xp_of
from ..errors import ShapeError
from .reduce import restore_reduced_axes
from .precision import float32_math, float32_math_on_cpu


@float32_math
class Norm(Function):
    """The p-norm over axes: p = 2 (also 'fro'), 1, inf, -inf, 0 (count of non-zeros) or
    any other number. Its gradient is 0 where the norm is 0, as torch."""

    def forward(self, a, p=2.0, axes=None, keepdim=False):
        xp = xp_of(a)
        self.p, self.axes, self.keepdim = p, axes, keepdim
        size = abs(a)
        if p == math.inf:
            out = size.max(axis=axes, keepdims=True)
        elif p == -math.inf:
            out = size.min(axis=axes, keepdims=True)
        elif p == 0:
            out = (a != 0).sum(axis=axes, keepdims=True).astype(a.dtype)
        elif p == 1:
            out = size.sum(axis=axes, keepdims=True)
        elif p == 2:
            out = xp.sqrt((a * a).sum(axis=axes, keepdims=True))
        else:
            out = ((size ** p).sum(axis=axes, keepdims=True)) ** (1.0 / p)
        self.save_for_backward(a, out)
        return out if keepdim else out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in axes))

    def backward(self, g):
        xp = xp_of(g)
        a, out = self.saved
        g = g if self.keepdim else restore_reduced_axes(g, self.axes, False)
        p = self.p
        if p == 0:
            return xp.zeros_like(a)
        sign = xp.where(xp.isnan(a), 0, xp.sign(a))   # torch's sign(NaN) is 0
        if p == 1:
            return g * sign
        if abs(p) == math.inf:                   # like amax of |a|: ties share equally
            hit = abs(a) == out
            return g * sign * hit / hit.sum(axis=self.axes, keepdims=True)
        zero_norm = out == 0
        safe = xp.where(zero_norm, 1, out)
        if p == 2:
            return xp.where(zero_norm, 0, g / safe) * a
        # d||a||_p / da_i = sign(a_i) |a_i|^(p-1) / ||a||^(p-1); 0 at a_i = 0 and at a zero norm
        nonzero = a != 0
        size = xp.where(nonzero, abs(a), 1)
        part = xp.where(nonzero, xp.sign(a) * size ** (p - 1), 0)
        return xp.where(zero_norm, 0, g / safe ** (p - 1)) * part


def parse_einsum(equation, ndims):
    """'bij,bjk->bik' (spaces, '...' and an implicit output allowed) -> (list of operand
    subscripts, output subscripts), with '...' spelled out as capital letters."""
    equation = equation.replace(' ', '')
    lhs, arrow, out = equation.partition('->')
    terms = lhs.split(',')
    if len(terms) != len(ndims):
        raise ShapeError(f"einsum: the equation {equation!r} has {len(terms)} operands but "
                         f"{len(ndims)} tensors were given")
    spare = [c for c in 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' if c not in equation]
    widest = 0
    spelled = []
    for term, nd in zip(terms, ndims):
        if '...' in term:
            n_dots = nd - (len(term) - 3)
            if n_dots < 0:
                raise ShapeError(f"einsum: operand subscripts {term!r} need at least {len(term) - 3} "
                                 f"dims, the tensor has {nd}")
            widest = max(widest, n_dots)
            term = term.replace('...', ''.join(spare[len(spare) - n_dots:]))
        if len(term) != nd or (term and not term.isalpha()):
            raise ShapeError(f"einsum: operand subscripts {term!r} do not fit a tensor with {nd} "
                             f"dims (one letter per dim, or '...')")
        spelled.append(term)
    dots = ''.join(spare[len(spare) - widest:])
    if arrow:
        out = out.replace('...', dots)
    else:                                        # implicit: '...' then letters seen once, sorted
        letters = ''.join(spelled)
        out = dots + ''.join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in dots))
    for c in out:
        if c not in ''.join(spelled):
            raise ShapeError(f"einsum: output subscript {c!r} does not appear in any operand of {equation!r}")
    return spelled, out


@float32_math_on_cpu
class Einsum(Function):
    """xp.einsum on explicit subscripts (operands already broadcast to each other)."""

    def forward(self, *arrays, terms=(), out=''):
        self.terms, self.out = terms, out
        self.save_for_backward(*arrays)
        spec = ','.join(terms) + '->' + out
        xp = xp_of(arrays[0])
        result = xp.asarray(xp.einsum(spec, *arrays))
        # NumPy returns a view for a pure permutation ('ij->ji'); the result owns its memory
        return result.copy() if any(xp.shares_memory(result, a) for a in arrays) else result

    def backward(self, g):
        xp = xp_of(g)
        arrays = self.saved
        sizes = {c: n for term, a in zip(self.terms, arrays) for c, n in zip(term, a.shape)}
        grads = []
        for k, (term, a) in enumerate(zip(self.terms, arrays)):
            letters = ''.join(dict.fromkeys(term))             # unique, in order
            others = [(t, x) for j, (t, x) in enumerate(zip(self.terms, arrays)) if j != k]
            available = self.out + ''.join(t for t, _ in others)
            reached = ''.join(c for c in letters if c in available)
            spec = ','.join([self.out] + [t for t, _ in others]) + '->' + reached
            r = xp.einsum(spec, g, *[x for _, x in others])
            # letters only this operand has were summed over: their gradient is a broadcast
            r = _broadcast_missing(xp, r, reached, letters, sizes)
            if len(letters) == len(term):
                grads.append(r.astype(a.dtype, copy=False))
                continue
            # a repeated letter ('ii->i') read a diagonal: put the gradient back on it
            grad = xp.zeros(a.shape, dtype=a.dtype)
            grid = {c: xp.arange(sizes[c]).reshape([-1 if c == d else 1 for d in letters]) for c in letters}
            grad[tuple(grid[c] for c in term)] = r
            grads.append(grad)
        return tuple(grads)


def _broadcast_missing(xp, r, reached, letters, sizes):
    """r over the subscripts `reached` (a subsequence of `letters`) -> an array over
    `letters`, broadcast along the letters it lacks."""
    if len(reached) == len(letters):
        return r
    shape = tuple(sizes[c] if c in reached else 1 for c in letters)
    return xp.broadcast_to(r.reshape(shape), tuple(sizes[c] for c in letters))
