"""Edge cases a peer engine's op suite checks against torch (its shapes and values, its
expected exceptions): each row is one case that failed here before, forward and gradient
in float64 through tests/torch_diff.py's runner (which also requires torch's exception
class wherever torch raises)."""
from hypothesis import strategies as st
from torch_diff import Op, torch_diff_test


def fixed(*s):
    return st.just(tuple(s))


NONE = st.just(())

TABLE = [
    Op('einsum_scalar', lambda L, a: L.einsum('->', a), shapes=fixed(())),
    Op('einsum_two_ellipses_raises', lambda L, a, b: L.einsum('...ik..., ...jk ->', [a, b]), shapes=fixed((2, 3, 4), (2, 3, 4))),
    Op('einsum_too_many_operands_raises', lambda L, a, b, c: L.einsum('ij,jk->ij', [a, b, c]),
       shapes=fixed((2, 3), (3, 2), (2, 2))),
    Op('einsum_too_few_operands_raises', lambda L, a: L.einsum('ij,jk->ij', a), shapes=fixed((2, 2))),
    Op('pad_odd_length_raises', lambda L, x: L.nn.functional.pad(x, (2, 0, 2)), shapes=fixed((3, 3))),
    Op('pad_too_long_raises', lambda L, x: L.nn.functional.pad(x, (0, 0, 0, 0, 1, 0, 3, 0)), shapes=fixed((3, 3))),
    Op('pad_reflect_crop_to_empty', lambda L, x: L.nn.functional.pad(x, (0, 0, 0, -5), mode='reflect'),
       shapes=fixed((1, 1, 5, 5))),
    Op('pad_replicate_crop_and_grow', lambda L, x: L.nn.functional.pad(x, (3, -5, 1, -5), mode='replicate'),
       shapes=fixed((1, 1, 5, 5))),
    Op('conv2d_padding_of_three_raises', lambda L, x, w: L.nn.functional.conv2d(x, w, padding=(1, 1, 1)),
       shapes=fixed((1, 2, 4, 4), (2, 2, 3, 3))),
    Op('max_pool2d_padding_of_three_raises', lambda L, x: L.nn.functional.max_pool2d(x, 2, padding=(1, 1, 1)),
       shapes=fixed((1, 2, 6, 6))),
    Op('max_pool2d_int', lambda L, x: L.nn.functional.max_pool2d((x * 10).int(), 2, padding=1),
       shapes=fixed((2, 2, 5, 6)), grad=False, nonfinite=False),
    Op('max_pool2d_int_indices', lambda L, x: L.nn.functional.max_pool2d((x * 10).long(), 2, return_indices=True),
       shapes=fixed((1, 2, 4, 4)), grad=False, nonfinite=False),
    Op('meshgrid_bad_indexing_raises', lambda L, x: L.meshgrid(x, indexing='bad'), shapes=fixed((3,))),
    Op('linspace_int_descending', lambda L: L.linspace(5, -5, 20, dtype=L.int32), shapes=NONE),
    Op('linspace_int_ascending', lambda L: L.linspace(-3, 10, 7, dtype=L.int64), shapes=NONE),
    Op('linspace_bool_raises', lambda L: L.linspace(5, 10, 3, dtype=L.bool), shapes=NONE),
    Op('linspace_negative_steps_raises', lambda L: L.linspace(1, 2, -1), shapes=NONE),
    Op('bitwise_xor_float_raises', lambda L, a, b: a.bitwise_xor(b), shapes=fixed((4,), (4,))),
    Op('bitwise_not_float_raises', lambda L, x: x.bitwise_not(), shapes=fixed((4,))),
    Op('scatter_reduce_bad_mode_raises', lambda L, x, s: x.scatter_reduce(0, L.tensor([[0, 1]]), s, reduce='INVALID'),
       shapes=fixed((2, 2), (2, 2))),
    Op('cross_entropy_bad_float_target_raises', lambda L, x, y: L.nn.functional.cross_entropy(x, y),
       shapes=fixed((4, 3), (4, 1))),
    Op('view_as_int32', lambda L, x: x.float().view(L.int32), shapes=fixed((3, 3)), grad=False),
    Op('view_as_int64_same_size', lambda L, x: x.view(L.int64), shapes=fixed((2, 3)), grad=False),
    Op('view_float64_as_float32', lambda L, x: x.view(L.float32), shapes=fixed((2, 3)), grad=False),
    Op('view_float32_as_uint8', lambda L, x: x.float().view(L.uint8), shapes=fixed((2, 3)), grad=False),
    Op('view_dtype_noncontiguous_raises', lambda L, x: x.t().view(L.float32), shapes=fixed((3, 2))),
    Op('view_same_dtype', lambda L, x: x.view(L.float64), shapes=fixed((2, 3))),
    Op('pow_zero_to_negative', lambda L, x: (x * 0) ** -1.0, shapes=fixed((3,)), nonfinite=False),
    Op('copysign_zeros', lambda L, a, b: L.copysign(a * 0, b), shapes=fixed((4,), (4,)), nonfinite=False),
    Op('mod_by_float_scalar', lambda L, x: 100.5 % x, shapes=fixed((5,)), domain=(-9, 9), kinks=(0,), grad=False),
    Op('sinc_pi_multiples', lambda L, x: (x.round() * 1.0).sinc(), shapes=fixed((6,)), domain=(-3, 3), grad=False),
]

test_against_torch = torch_diff_test(TABLE)
