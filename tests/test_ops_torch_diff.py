"""Elementwise ops and activations against PyTorch: forward and gradient, float64, on
hypothesis shapes (broadcasting, zero-size dims), non-contiguous views and NaN/inf.
The runner is tests/torch_diff.py; one line per op."""
from hypothesis import strategies as st

from torch_diff import Op, same_shapes, shapes, torch_diff_test

POS = (0.1, 3.0)           # domains of ops defined for positive inputs only
UNIT = (-0.95, 0.95)       # asin, acos, atanh, erfinv


def F(L):
    return L.nn.functional


@st.composite
def prelu_shapes(draw):
    """An input of rank >= 2 and a weight of 1 or C = shape[1] elements."""
    shape = draw(shapes(min_rank=2, max_rank=4))
    return shape, (draw(st.sampled_from([1, shape[1]])),)


@st.composite
def even_last_dim(draw):
    shape = draw(shapes(min_rank=1, max_rank=3))
    return (shape[:-1] + (2 * shape[-1],),)


TABLE = [
    # arithmetic operators and methods
    Op('add', lambda L, a, b: a + b),
    Op('add_alpha', lambda L, a, b: L.add(a, b, alpha=2.5)),
    Op('sub', lambda L, a, b: a - b),
    Op('sub_alpha', lambda L, a, b: a.sub(b, alpha=-0.5)),
    Op('subtract', lambda L, a, b: L.subtract(a, b)),
    Op('rsub', lambda L, a, b: L.rsub(a, b, alpha=3)),
    Op('mul', lambda L, a, b: a * b),
    Op('multiply', lambda L, a, b: a.multiply(b)),
    Op('div', lambda L, a, b: a / b),
    Op('divide', lambda L, a, b: L.divide(a, b)),
    Op('true_divide', lambda L, a, b: a.true_divide(b)),
    Op('div_trunc', lambda L, a, b: L.div(a, b, rounding_mode='trunc'), kinks=(0,)),
    Op('div_floor', lambda L, a, b: a.div(b, rounding_mode='floor'), kinks=(0,)),
    Op('floordiv', lambda L, a, b: a // b, kinks=(0,), grad=False),   # torch: no derivative
    Op('floor_divide', lambda L, a, b: L.floor_divide(a, b), kinks=(0,), grad=False),
    Op('remainder', lambda L, a, b: L.remainder(a, b), kinks=(0,)),
    Op('mod', lambda L, a, b: a % b, kinks=(0,)),
    Op('rmod', lambda L, x: 5.5 % x, kinks=(0,), grad=False),
    Op('rfloordiv', lambda L, x: 5.5 // x, kinks=(0,), grad=False),
    Op('fmod', lambda L, a, b: L.fmod(a, b), kinks=(0,)),
    Op('pow', lambda L, a, b: a ** b, domain=(POS, (-2, 2))),
    Op('pow_negative_base', lambda L, a, b: a ** b, domain=((-2, 2), (-3, 3)), dtypes=('float64', 'int64'),
       grad=False),
    Op('pow_method', lambda L, a, b: a.pow(b), domain=(POS, (-2, 2))),
    Op('pow_scalar', lambda L, x: x ** 3),
    Op('pow_scalar_frac', lambda L, x: x ** 2.5, domain=POS),
    Op('pow_zero', lambda L, x: x ** 0),
    Op('rpow', lambda L, x: 2 ** x),
    Op('rsub_scalar', lambda L, x: 2 - x),
    Op('rdiv_scalar', lambda L, x: 1.5 / x),
    Op('neg', lambda L, x: -x),
    Op('negative', lambda L, x: L.negative(x)),
    Op('abs', lambda L, x: L.abs(x), kinks=(0,)),
    Op('absolute', lambda L, x: x.absolute(), kinks=(0,)),
    Op('maximum', lambda L, a, b: L.maximum(a, b), nonfinite=False),
    Op('minimum', lambda L, a, b: L.minimum(a, b), nonfinite=False),
    Op('addcmul', lambda L, a, b, c: L.addcmul(a, b, c, value=0.5)),
    Op('addcdiv', lambda L, a, b, c: a.addcdiv(b, c, value=-2), kinks=(0,)),
    Op('lerp', lambda L, a, b, w: L.lerp(a, b, w), domain=((-2, 2), (-2, 2), (-0.5, 1.5))),
    Op('lerp_scalar', lambda L, a, b: a.lerp(b, 0.3)),
    # unary math
    Op('exp', lambda L, x: L.exp(x)),
    Op('log', lambda L, x: L.log(x), domain=POS),
    Op('sqrt', lambda L, x: L.sqrt(x), domain=POS),
    Op('tanh', lambda L, x: L.tanh(x)),
    Op('sigmoid', lambda L, x: L.sigmoid(x), domain=(-6, 6)),
    Op('sin', lambda L, x: L.sin(x), domain=(-4, 4)),
    Op('cos', lambda L, x: x.cos(), domain=(-4, 4)),
    Op('tan', lambda L, x: L.tan(x), domain=(-1.4, 1.4)),
    Op('asin', lambda L, x: L.asin(x), domain=UNIT),
    Op('acos', lambda L, x: L.acos(x), domain=UNIT),
    Op('atan', lambda L, x: L.atan(x), domain=(-4, 4)),
    Op('arcsin', lambda L, x: L.arcsin(x), domain=UNIT),
    Op('sinh', lambda L, x: L.sinh(x)),
    Op('cosh', lambda L, x: L.cosh(x)),
    Op('asinh', lambda L, x: L.asinh(x), domain=(-4, 4)),
    Op('acosh', lambda L, x: L.acosh(x), domain=(1.05, 4)),
    Op('atanh', lambda L, x: L.atanh(x), domain=UNIT),
    Op('log2', lambda L, x: L.log2(x), domain=POS),
    Op('log10', lambda L, x: x.log10(), domain=POS),
    Op('log1p', lambda L, x: L.log1p(x), domain=(-0.9, 3)),
    Op('exp2', lambda L, x: L.exp2(x)),
    Op('expm1', lambda L, x: L.expm1(x)),
    Op('rsqrt', lambda L, x: L.rsqrt(x), domain=POS),
    Op('reciprocal', lambda L, x: L.reciprocal(x), kinks=(0,)),
    Op('square', lambda L, x: L.square(x)),
    Op('erf', lambda L, x: L.erf(x), domain=(-6, 6)),
    Op('erfc', lambda L, x: L.erfc(x), domain=(-3, 12)),
    Op('erfinv', lambda L, x: L.erfinv(x), domain=UNIT),
    Op('sign', lambda L, x: L.sign(x)),
    Op('sgn', lambda L, x: x.sgn()),
    Op('floor', lambda L, x: L.floor(x)),
    Op('ceil', lambda L, x: L.ceil(x)),
    Op('round', lambda L, x: L.round(x * 3)),
    Op('round_decimals', lambda L, x: L.round(x, decimals=2)),
    Op('round_negative_decimals', lambda L, x: (x * 1000).round(decimals=-2)),
    Op('trunc', lambda L, x: L.trunc(x)),
    Op('frac', lambda L, x: L.frac(x * 3)),
    Op('nan_to_num', lambda L, x: L.nan_to_num(x)),
    Op('nan_to_num_values', lambda L, x: x.nan_to_num(nan=1.5, posinf=9.0, neginf=-9.0)),
    Op('clamp', lambda L, x: L.clamp(x, -0.5, 0.7), kinks=(-0.5, 0.7)),
    Op('clamp_min', lambda L, x: x.clamp(min=0.25), kinks=(0.25,)),
    Op('clamp_tensor_bounds', lambda L, x, lo, hi: x.clamp(lo, hi), nonfinite=False, shapes=same_shapes(3)),
    # binary math
    Op('atan2', lambda L, a, b: L.atan2(a, b), kinks=(0,)),
    Op('arctan2', lambda L, a, b: a.arctan2(b), kinks=(0,)),
    Op('hypot', lambda L, a, b: L.hypot(a, b)),
    Op('logaddexp', lambda L, a, b: L.logaddexp(a, b), domain=(-30, 30)),
    Op('xlogy', lambda L, a, b: L.xlogy(a, b), domain=((-2, 2), POS)),
    # int and bool inputs: float math gives float32 (as torch), integer ops stay integer
    Op('exp_int', lambda L, x: L.exp(x), dtypes='int64', domain=(-5, 5), rtol=1e-6),
    Op('sin_bool', lambda L, x: L.sin(x), dtypes='bool', rtol=1e-6),
    Op('sqrt_int', lambda L, x: x.sqrt(), dtypes='int64', domain=(0, 9), rtol=1e-6),
    Op('sigmoid_int', lambda L, x: x.sigmoid(), dtypes='int64', domain=(-5, 5), rtol=1e-6),
    Op('div_int', lambda L, a, b: a / b, dtypes='int64', domain=(1, 9), rtol=1e-6),
    Op('floordiv_int', lambda L, a, b: a // b, dtypes='int64', domain=(-9, 9)),
    Op('remainder_int', lambda L, a, b: a % b, dtypes='int64', domain=(-9, 9)),
    Op('fmod_int', lambda L, a, b: L.fmod(a, b), dtypes='int64', domain=(-9, 9)),
    Op('div_trunc_int', lambda L, a, b: L.div(a, b, rounding_mode='trunc'), dtypes='int64', domain=(-9, 9)),
    Op('abs_int', lambda L, x: x.abs(), dtypes='int64', domain=(-9, 9)),
    Op('sign_int', lambda L, x: x.sign(), dtypes='int64', domain=(-9, 9)),
    Op('square_int', lambda L, x: x.square(), dtypes='int64', domain=(-9, 9)),
    Op('floor_int', lambda L, x: x.floor(), dtypes='int64', domain=(-9, 9)),
    Op('pow_int', lambda L, x: x ** 2, dtypes='int64', domain=(-9, 9)),
    Op('pow_int_float', lambda L, x: x ** 0.5, dtypes='int64', domain=(0, 9), rtol=1e-6),
    Op('clamp_int_float_bound', lambda L, x: x.clamp(min=1.5), dtypes='int64', domain=(-9, 9)),
    Op('clamp_int', lambda L, x: x.clamp(-2, 3), dtypes='int64', domain=(-9, 9)),
    Op('mixed_int_float', lambda L, a, b: a * b, dtypes=('int64', 'float64')),
    Op('mixed_bool_int', lambda L, a, b: a + b, dtypes=('bool', 'int64')),
    # predicates, logical and bitwise ops
    Op('isinf', lambda L, x: L.isinf(x), grad=False),
    Op('isposinf', lambda L, x: L.isposinf(x), grad=False),
    Op('isneginf', lambda L, x: x.isneginf(), grad=False),
    Op('signbit', lambda L, x: L.signbit(x), grad=False),
    Op('logical_and', lambda L, a, b: L.logical_and(a, b), dtypes='bool'),
    Op('logical_or', lambda L, a, b: a.logical_or(b), dtypes='bool'),
    Op('logical_xor', lambda L, a, b: L.logical_xor(a, b), dtypes=('float64', 'int64')),
    Op('logical_not', lambda L, x: L.logical_not(x), domain=(-1, 1), dtypes='int64'),
    Op('bitwise_and', lambda L, a, b: L.bitwise_and(a, b), dtypes='int64', domain=(-9, 9)),
    Op('bitwise_or', lambda L, a, b: a | b, dtypes='int64', domain=(-9, 9)),
    Op('bitwise_xor', lambda L, a, b: a ^ b, dtypes=('bool', 'int64'), domain=(-9, 9)),
    Op('bitwise_not', lambda L, x: ~x, dtypes='int64', domain=(-9, 9)),
    Op('and_bool', lambda L, a, b: a & b, dtypes='bool'),
    Op('invert_bool', lambda L, x: ~x, dtypes='bool'),
    # activations
    Op('relu', lambda L, x: L.relu(x), kinks=(0,)),
    Op('gelu', lambda L, x: F(L).gelu(x), domain=(-6, 6)),
    Op('gelu_tanh', lambda L, x: F(L).gelu(x, approximate='tanh'), domain=(-6, 6)),
    Op('silu', lambda L, x: F(L).silu(x), domain=(-8, 8)),
    Op('softplus', lambda L, x: F(L).softplus(x), domain=(-30, 30)),
    Op('softplus_beta', lambda L, x: F(L).softplus(x, beta=2, threshold=5), domain=(-8, 8), kinks=(2.5,)),
    Op('mish', lambda L, x: F(L).mish(x), domain=(-8, 8)),
    Op('elu', lambda L, x: F(L).elu(x, alpha=1.5), kinks=(0,)),
    Op('selu', lambda L, x: F(L).selu(x), kinks=(0,)),
    # torch's float64 celu and hardsigmoid backward use float32 constants (1/alpha, 1/6): 3e-8
    Op('celu', lambda L, x: F(L).celu(x, alpha=0.7), kinks=(0,), rtol=1e-7),
    Op('leaky_relu', lambda L, x: F(L).leaky_relu(x, 0.2), kinks=(0,)),
    Op('hardtanh', lambda L, x: F(L).hardtanh(x, -0.5, 1.5), kinks=(-0.5, 1.5)),
    Op('relu6', lambda L, x: F(L).relu6(x), domain=(-2, 8), kinks=(0, 6)),
    Op('hardswish', lambda L, x: F(L).hardswish(x), domain=(-5, 5), kinks=(-3, 3)),
    Op('hardsigmoid', lambda L, x: F(L).hardsigmoid(x), domain=(-5, 5), kinks=(-3, 3), rtol=1e-7),
    Op('logsigmoid', lambda L, x: F(L).logsigmoid(x), domain=(-40, 40)),
    Op('softsign', lambda L, x: F(L).softsign(x), kinks=(0,)),
    Op('tanhshrink', lambda L, x: F(L).tanhshrink(x)),
    Op('threshold', lambda L, x: F(L).threshold(x, 0.3, -2.0), kinks=(0.3,)),
    Op('glu', lambda L, x: F(L).glu(x), shapes=even_last_dim()),
    Op('prelu', lambda L, x, w: F(L).prelu(x, w), kinks=(0,), shapes=prelu_shapes()),
]

test_against_torch = torch_diff_test(TABLE)
