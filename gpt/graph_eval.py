"""The stopping rule's val losses with the forward replayed as a CUDA graph.

An eager eval-mode forward of the lecture's GPT enqueues a few hundred kernels from
Python, so a 100-batch measurement is bound by the host. Here one forward is captured
once on fixed input buffers, and each fixed batch costs a copy into them, a replay and
an add. The weights are read where they live (the optimizer updates them in place), so
the graph stays valid as training goes; should a parameter's array move (a reload), the
forward is captured again. It checks itself against the eager forward at each capture,
and any failure (no GPU, a capture the engine refuses, a different loss) falls back to
the eager forward with one log line: the measurement is the same either way.
"""
import math

import minitensor as mt

AGREEMENT = 1e-4        # relative: the replayed and eager losses run the same kernels
MAX_CAPTURES = 3        # weights that keep moving would make every evaluation a capture


def addresses(model):
    """Where each parameter's data lives on the GPU: what a captured forward has baked in."""
    return tuple(p.array.data.ptr for p in model.parameters())


class GraphedLossSum:
    """FixedBatches.loss_sum(model, start, stop), the forward replayed from a CUDA graph."""

    def __init__(self, fixed, log=print):
        self.fixed, self.log = fixed, log
        n, batch, block = fixed.x.shape
        self.x = mt.zeros((batch, block), dtype=mt.int64, device=fixed.x.device)     # (B, T) graph input
        self.y = mt.zeros((batch, block), dtype=mt.int64, device=fixed.x.device)     # (B, T) graph input
        self.graph = None
        self.loss = None            # the captured forward's loss: rewritten by every replay
        self.failed = None          # why the graph is not used: then every forward is eager
        self.weights = None         # addresses(model) at capture
        self.captures = 0

    def __call__(self, model, start, stop):
        """The summed losses of fixed batches [start, stop), on the device (no sync)."""
        if self.failed is not None:
            return self.fixed.loss_sum(model, start, stop)
        if self.graph is not None and addresses(model) != self.weights:
            self.graph = self.loss = None             # the weights moved: capture again
        was_training = model.training
        model.eval()
        total = None
        try:
            with mt.no_grad():
                for i in range(start, stop):
                    loss = self._loss(model, i)
                    total = loss if total is None else total + loss
        finally:
            model.train(was_training)
        return total

    def _loss(self, model, i):
        if self.graph is None and self.failed is None:
            self._capture(model, i)
        if self.graph is None:
            return model(self.fixed.x[i], self.fixed.y[i])[1]
        self.x.copy_(self.fixed.x[i])             # into the buffers the graph reads
        self.y.copy_(self.fixed.y[i])
        self.graph.replay()
        return self.loss.clone()                  # the next replay overwrites self.loss

    def _capture(self, model, i):
        if self.captures == MAX_CAPTURES:
            self._give_up(f"the weights moved after each of {MAX_CAPTURES} captures")
            return
        self.captures += 1
        self.x.copy_(self.fixed.x[i])
        self.y.copy_(self.fixed.y[i])
        eager = model(self.x, self.y)[1].item()   # compiles the kernels; the reference value
        try:
            graph = mt.cuda.CUDAGraph()
            with mt.cuda.graph(graph, capture_error_mode='relaxed'):
                _, loss = model(self.x, self.y)
            graph.replay()
            replayed = loss.item()
        except Exception as e:       # anything the capture refuses: evaluate eagerly, say why once
            self._give_up(f"capture failed ({type(e).__name__}: {e})")
            return
        if not math.isclose(replayed, eager, rel_tol=AGREEMENT):
            self._give_up(f"its loss {replayed!r} differs from the eager forward's {eager!r}")
            return
        self.graph, self.loss, self.weights = graph, loss, addresses(model)
        if self.captures == 1:
            self.log("CUDA graph: the val-loss forward is captured; evaluations replay it")

    def _give_up(self, why):
        self.failed = why
        self.log(f"CUDA graph: val losses evaluate eagerly: {why}")
