"""Edge cases a peer engine's op suite checks against torch (its shapes and values, its
expected exceptions): each row is one case that failed here before, forward and gradient
in float64 through tests/torch_diff.py's runner (which also requires torch's exception
class wherever torch raises)."""
import pytest
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
    Op('softmax_dtype', lambda L, x: L.softmax(x.float(), dim=-1, dtype=L.float64), shapes=fixed((3, 4))),
    Op('log_softmax_dtype', lambda L, x: L.nn.functional.log_softmax(x.float(), dim=0, dtype=L.float64),
       shapes=fixed((3, 4))),
    Op('where_one_argument', lambda L, x: L.where(x > 0), shapes=fixed((3, 4)), grad=False),
    Op('index_put', lambda L, x, v: x.index_put((L.tensor([1, 3]),), v), shapes=fixed((5,), (2,))),
    Op('index_put_accumulate', lambda L, x, v: x.index_put((L.tensor([1, 1, -2]),), v, accumulate=True),
       shapes=fixed((5, 2), (3, 2))),
    Op('index_put_2d_accumulate', lambda L, x, v: x.index_put((L.tensor([0, 2, 0]), L.tensor([1, 1, 1])), v,
                                                              accumulate=True), shapes=fixed((3, 2), ())),
    Op('index_put_bool_mask', lambda L, x: x.index_put((x > 0,), L.tensor(0.5, dtype=L.float64)), shapes=fixed((3, 4)),
       nonfinite=False),
    Op('index_put_inplace', lambda L, x, v: x.clone().index_put_((L.tensor([0, 2]),), v, accumulate=True),
       shapes=fixed((4, 3), (3,))),
    Op('stride_contiguous', lambda L, x: L.tensor([x.stride(), x.t().stride(), x[:, ::2].stride()]),
       shapes=fixed((4, 6)), grad=False),
    Op('is_contiguous', lambda L, x: L.tensor([x.is_contiguous(), x.t().is_contiguous(), x[1:].is_contiguous()]),
       shapes=fixed((4, 6)), grad=False),
    Op('split_keyword', lambda L, x: L.split(x, split_size_or_sections=[1, 2], dim=0), shapes=fixed((3, 2))),
    Op('to_copy', lambda L, x: x.to(dtype=x.dtype, copy=True), shapes=fixed((2, 3))),
    Op('linear_int_input_raises', lambda L, w: L.nn.functional.linear(L.tensor([[1, 2]]), w), shapes=fixed((3, 2))),
    Op('fill_diagonal', lambda L, x: x.clone().fill_diagonal_(0.5), shapes=fixed((3, 4))),
    Op('fill_diagonal_wrap', lambda L, x: x.clone().fill_diagonal_(-1.0, wrap=True), shapes=fixed((7, 3))),
    Op('fill_diagonal_3d', lambda L, x: x.clone().fill_diagonal_(2.0), shapes=fixed((2, 2, 2))),
    Op('unsqueeze_inplace', lambda L, x: x.clone().unsqueeze_(1).t_() * 2, shapes=fixed((3,))),
    Op('squeeze_transpose_inplace', lambda L, x: (x * 1).squeeze_(1).transpose_(0, 1), shapes=fixed((3, 1, 2))),
    Op('bernoulli_inplace_zero_grad', lambda L, x: x.clone().bernoulli_(0.0) + x, shapes=fixed((3,))),
]

test_against_torch = torch_diff_test(TABLE)


def test_random_fills_have_their_distributions():
    import numpy as np
    import minitensor as mt
    mt.manual_seed(0)
    n = 20000
    assert abs(mt.empty(n).bernoulli_(0.3).mean().item() - 0.3) < 0.02
    e = mt.empty(n, dtype=mt.float64).exponential_(2.0)
    assert e.min().item() >= 0 and abs(e.mean().item() - 0.5) < 0.02
    g = mt.empty(n).geometric_(0.25)
    assert g.min().item() >= 1 and abs(g.mean().item() - 4.0) < 0.15
    r = mt.empty(n, dtype=mt.int64).random_(3, 7)
    assert set(np.unique(r.numpy())) == {3, 4, 5, 6}
    assert mt.zeros(4).random_(5).max().item() < 5
    ln = mt.empty(n, dtype=mt.float64).log_normal_(0.0, 0.5)
    assert abs(np.log(ln.numpy()).std() - 0.5) < 0.02
    c = mt.empty(n, dtype=mt.float64).cauchy_()
    assert abs(np.median(c.numpy())) < 0.05
    x = mt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        x.unsqueeze_(0)

