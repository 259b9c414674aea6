"""matmul / @ with torch's semantics: 1-D operands and broadcast batch dims."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitensor as mt
from strategies import FAST, check_op, random_array, seeds


@st.composite
def matmul_shapes(draw):
    """Two shapes torch.matmul accepts: either may be 1-D; batch dims broadcast."""
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = draw(st.lists(st.integers(1, 3), max_size=2))

    def batch_of():
        lead = draw(st.integers(0, len(batch)))
        return tuple(1 if draw(st.booleans()) else b for b in batch[lead:])
    a = (k,) if draw(st.integers(0, 4)) == 0 else batch_of() + (n, k)
    b = (k,) if draw(st.integers(0, 4)) == 0 else batch_of() + (k, m)
    return a, b


@FAST
@given(ab=matmul_shapes(), seed=seeds())
def test_matmul(ab, seed):
    a, b = random_array(ab[0], seed), random_array(ab[1], seed + 1)
    check_op(lambda x, y: x @ y, np.matmul, [a, b])
    check_op(lambda x, y: mt.matmul(x, y), np.matmul, [a, b])


@pytest.mark.parametrize('sa, sb', [
    ((5, 5), (2, 5, 3)),                 # (T,T) @ (B,T,C): wei @ x
    ((5, 2, 4, 8), (8, 20)),             # (5,2,4,80) @ (80,200), scaled down
    ((2, 1, 4, 4), (2, 3, 4, 5)),        # (B,1,T,T) @ (B,H,T,hs)
    ((3,), (3,)), ((3,), (3, 4)), ((2, 4, 3), (3,)), ((4,), (2, 4, 3)),
])
def test_matmul_lecture_shapes(sa, sb):
    check_op(lambda x, y: x @ y, np.matmul, [random_array(sa, 0), random_array(sb, 1)])


def test_big_lecture_shape_forward():
    a = mt.randn(5, 2, 4, 80)
    b = mt.randn(80, 200)
    out = a @ b
    assert out.shape == (5, 2, 4, 200)
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy(), rtol=1e-5, atol=1e-4)


def test_matmul_with_only_one_side_requiring_grad():
    a = mt.tensor(random_array((2, 3, 4), 0), requires_grad=True)
    b = mt.tensor(random_array((4, 5), 1))
    (a @ b).sum().backward()
    assert b.grad is None
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.numpy().sum(1), (2, 3, 4)))
    check_op(lambda y: mt.tensor(random_array((2, 3, 4), 0)) @ y, lambda y: random_array((2, 3, 4), 0) @ y,
             [random_array((4, 5), 1)])


def test_rmatmul_with_numpy_left_operand_is_not_needed_but_list_right_operand_works():
    x = mt.tensor([[1.0, 2.0]])
    assert (x @ [[1.0], [1.0]]).tolist() == [[3.0]]


def test_matmul_errors():
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(4, 8, 3\) and \(2, 5\) cannot be multiplied: "
                                         r"3 != 2 \(the last dim of the first must equal the second-to-last"):
        mt.randn(4, 8, 3) @ mt.randn(2, 5)
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(3,\) and \(4,\) cannot be multiplied"):
        mt.randn(3) @ mt.randn(4)
    with pytest.raises(RuntimeError, match=r"matmul \(batch dims\): the size of tensor a \(2\) must match the "
                                         r"size of tensor b \(3\) at non-singleton dimension 0"):
        mt.randn(2, 4, 5) @ mt.randn(3, 5, 6)
    with pytest.raises(RuntimeError, match="at least 1 dim"):
        mt.tensor(2.0) @ mt.randn(3)
    with pytest.raises(TypeError, match="same dtype.*float32 and float64"):
        mt.randn(2, 3) @ mt.randn(3, 2).double()
