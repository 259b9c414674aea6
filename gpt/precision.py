"""--dtype: the number format a training run computes in.

  float32  every op in float32 (the default)
  tf32     float32, with the GPU's GEMMs on TF32 tensor cores (mt.backends.allow_tf32; as --tf32)
  bf16     mixed precision: the forward and the loss under mt.autocast(dtype=bfloat16)
           (GEMMs in bfloat16, softmax/norms/loss in float32), float32 weights and optimizer
  fp16     as bf16 with float16, plus a GradScaler (dynamic loss scaling: steps whose
           gradients overflow are skipped), for GPUs without bfloat16

Evaluation runs under the same autocast, so the losses it reports are the ones trained.
"""
from contextlib import nullcontext

import minitensor as mt

DTYPES = ('float32', 'tf32', 'bf16', 'fp16')


def configure(cfg):
    """Process-wide switches of the run (TF32)."""
    if cfg.tf32 or cfg.dtype == 'tf32':
        mt.backends.allow_tf32 = True


def autocast(cfg):
    """A context for the forward and loss: mt.autocast for bf16/fp16, else a no-op."""
    if cfg.dtype not in ('bf16', 'fp16'):
        return nullcontext()
    device_type = 'cuda' if cfg.device in ('gpu', 'cuda') else 'cpu'
    return mt.autocast(device_type, dtype=mt.bfloat16 if cfg.dtype == 'bf16' else mt.float16)


def grad_scaler(cfg):
    """mt.amp.GradScaler, enabled for fp16 only (bfloat16 has float32's range)."""
    device_type = 'cuda' if cfg.device in ('gpu', 'cuda') else 'cpu'
    return mt.amp.GradScaler(device_type, enabled=cfg.dtype == 'fp16')
