"""Elementwise ops and activations against PyTorch: forward and gradient, float64, on
hypothesis shapes (broadcasting, zero-size dims), non-contiguous views and NaN/inf.
The runner is tests/torch_diff.py; one line per op."""
from torch_diff import Op, torch_diff_test

POS = (0.1, 3.0)           # domains of ops defined for positive inputs only

TABLE = [
    # arithmetic
    Op('add', lambda L, a, b: a + b),
    Op('sub', lambda L, a, b: a - b),
    Op('mul', lambda L, a, b: a * b),
    Op('div', lambda L, a, b: a / b),
    Op('pow', lambda L, a, b: a ** b, domain=(POS, (-2, 2))),
    Op('pow_scalar', lambda L, x: x ** 3),
    Op('pow_scalar_frac', lambda L, x: x ** 2.5, domain=POS),
    Op('rpow', lambda L, x: 2 ** x),
    Op('rsub_scalar', lambda L, x: 2 - x),
    Op('rdiv_scalar', lambda L, x: 1.5 / x),
    Op('neg', lambda L, x: -x),
    Op('maximum', lambda L, a, b: L.maximum(a, b), nonfinite=False),
    Op('minimum', lambda L, a, b: L.minimum(a, b), nonfinite=False),
    # unary math
    Op('exp', lambda L, x: L.exp(x)),
    Op('log', lambda L, x: L.log(x), domain=POS),
    Op('sqrt', lambda L, x: L.sqrt(x), domain=POS),
    Op('abs', lambda L, x: L.abs(x), kinks=(0,)),
    Op('tanh', lambda L, x: L.tanh(x)),
    Op('sigmoid', lambda L, x: L.sigmoid(x), domain=(-6, 6)),
    Op('clamp', lambda L, x: L.clamp(x, -0.5, 0.7), kinks=(-0.5, 0.7)),
    # activations
    Op('relu', lambda L, x: L.relu(x), kinks=(0,)),
    Op('gelu', lambda L, x: L.nn.functional.gelu(x), domain=(-6, 6)),
    Op('gelu_tanh', lambda L, x: L.nn.functional.gelu(x, approximate='tanh'), domain=(-6, 6)),
]

test_against_torch = torch_diff_test(TABLE)
