"""gpt: the lecture's character-level language models, trained on minitensor.

    python -m gpt.train                  # train: the `small` preset on the CPU, `lecture` with --device gpu
    python -m gpt.sample --checkpoint runs/small/ckpt.npz
    python -m gpt.plot runs/small
"""
