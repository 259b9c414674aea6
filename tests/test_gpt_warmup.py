"""gpt/warmup.py: the pieces that launch a step's kernels run on the step's shapes and leave
the run's random stream alone (on the CPU here; tests/gpu runs gpt.train, which uses them)."""
import numpy as np

import minitensor as mt
from gpt import warmup
from gpt.config import preset


def test_the_pieces_run_and_do_not_move_the_default_generator():
    cfg = preset('speedrun')
    mt.manual_seed(5)
    before = mt.rand(3).numpy()
    mt.manual_seed(5)
    for piece in (warmup.attention_piece, warmup.block_piece, warmup.head_piece, warmup.data_piece):
        piece(cfg, 65, 'cpu', mt.Generator().manual_seed(0))
    np.testing.assert_array_equal(mt.rand(3).numpy(), before)


def test_nothing_to_compile_on_the_cpu():
    assert warmup.compile_step_kernels(preset('small'), 65, 'cpu', log=lambda line: None) == 0.0
