"""The training step as one CUDA graph: captured once, then replayed every step.

Eagerly, Python enqueues ~770 kernels a step, one at a time (27+ ms of host time for
the lecture's GPT). A replay enqueues all of them at once for a few microseconds, so
the GPU sets the pace. The step's code is the eager step's code (`step_body`); what
changes between steps reaches the replay as data, never as baked-in numbers:
- the batch: its offsets are drawn on the host exactly as eagerly, copied into a fixed
  device buffer, and gathered on the GPU inside the graph;
- the learning rate, AdamW's step count and bias corrections, the dropout seeds: the
  engine reads them from device slots (mt.cuda.graphs.step_values) refilled before
  each replay, in the order the eager step draws them.
So a graphed run and an eager run (--no-cuda-graph) draw the same batches, masks and
learning rates, and give the same losses to float32 rounding (the embedding's
backward sums rows with atomic adds, whose order differs from run to run).
"""
from contextlib import nullcontext

import minitensor as mt

WARMUP_STEPS = 3      # eager steps before capture: kernels compiled, optimizer state made


def step_body(model, optimizer, data, offsets, grad_clip, autocast=None, scaler=None):
    """One training step from batch offsets already on the device; returns the loss. The
    eager step and the captured one are this code. `scaler`: --dtype fp16's GradScaler
    (eager only: it reads its inf check on the host)."""
    xb, yb = data.batch_at('train', offsets)                      # (B, T), (B, T)
    with autocast or nullcontext():                               # --dtype bf16: its casts are captured too
        _, loss = model(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    (loss if scaler is None else scaler.scale(loss)).backward()
    if grad_clip > 0:
        if scaler is not None:
            scaler.unscale_(optimizer)
        mt.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()
    return loss


def why_not_graphed(cfg, data, world_size):
    """None if the step can be captured, else the reason (for the one log line)."""
    if not cfg.cuda_graph:
        return "--no-cuda-graph"
    engine_says = mt.cuda.graphs.why_not_capturable(data.positions)
    if engine_says:
        return engine_says
    if world_size > 1:
        return "data-parallel steps all-reduce through NCCL between ranks, not captured here"
    if cfg.dtype == 'fp16':
        return "--dtype fp16's GradScaler reads its inf/NaN check on the host every step"
    return None


class GraphedStep:
    """Runs the step eagerly for WARMUP_STEPS steps, captures it, then replays it."""

    def __init__(self, model, optimizer, data, grad_clip, log=print, autocast=None):
        self.model, self.optimizer, self.data, self.grad_clip = model, optimizer, data, grad_clip
        self.autocast = autocast            # --dtype bf16's mt.autocast (None: float32)
        self.log = log
        self.offsets = mt.zeros(data.batch_size, dtype=mt.int64, device=data.device)   # (B,) fixed input
        self.graph = None
        self.loss = None                    # the captured step's loss: rewritten by every replay
        self.eager_steps = 0
        self.failed = None                  # why capture failed: then every step stays eager

    def __call__(self):
        """One step; returns its loss tensor (on the device, no sync)."""
        host_offsets = self.data.draw_offsets('train')                    # (B,) on the CPU
        # into the same device buffer every step (its address is in the graph), no GPU wait
        mt.cuda.graphs.copy_to_device_async(host_offsets.numpy(), self.offsets.array)
        if self.graph is None and self.failed is None and self.eager_steps >= WARMUP_STEPS:
            self._capture()
        if self.graph is None:
            self.eager_steps += 1
            loss = step_body(self.model, self.optimizer, self.data, self.offsets, self.grad_clip, self.autocast)
            return loss.detach()
        self.graph.replay()
        return self.loss

    def _capture(self):
        graph = mt.cuda.CUDAGraph()
        try:
            with mt.cuda.graph(graph, capture_error_mode='relaxed'):
                loss = step_body(self.model, self.optimizer, self.data, self.offsets, self.grad_clip, self.autocast)
        except Exception as e:       # anything the capture refuses: train eagerly, say why once
            self.failed = f"{type(e).__name__}: {e}"
            self.optimizer.zero_grad(set_to_none=True)     # gradients the capture bound hold nothing
            self.log(f"CUDA graph: capture failed ({self.failed}); training eagerly instead")
            return
        self.graph, self.loss = graph, loss.detach()
        self.log(f"CUDA graph: captured the training step after {self.eager_steps} eager warm-up steps "
                 f"({graph.per_step_values} per-step values refilled before each replay)")
