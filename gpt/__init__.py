"""gpt: the lecture's character-level language models, trained on minitensor.

    python -m gpt.train                  # train: the `small` preset on the CPU, `lecture` with --device gpu
    python -m gpt.sample --checkpoint runs/small/ckpt.npz
    python -m gpt.plot runs/small
"""
from time import perf_counter as _perf_counter

IMPORTED_AT = _perf_counter()   # our first line of code: the start-up breakdown's 'python' ends here
