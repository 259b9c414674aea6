"""DistributedDataParallel: each rank trains a replica on its own batches; gradients are
averaged across ranks during backward, so every replica takes the same optimizer step.

How (as torch's DDP): at wrap time rank 0's parameters and buffers are copied to every
rank, after checking that every rank built the same model. Parameters are grouped into
buckets of about bucket_cap_mb, in reverse order of registration (backward produces the
last layers' gradients first). A post-accumulate-grad hook on each parameter marks it
ready once backward has summed all of its gradient (a tied weight used twice counts
once, after both uses); when a bucket's parameters are all ready, its gradients are
copied into one flat buffer and all-reduced with AVG, asynchronously (MPI_Iallreduce,
or NCCL on a side CUDA stream that overlaps the rest of backward). When the last bucket
has been started, backward's end waits for all of them, and each .grad becomes a view
of its bucket's averaged buffer. Gradients reduce in the parameters' dtype.
"""
import contextlib
import json

from ...autograd import is_grad_enabled, no_grad
from ...tensor import Tensor
from ... import distributed as dist
from ..module import Module


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer."""

    def __init__(self, params, xp):
        self.params = params
        self.offsets, n = [], 0
        for p in params:
            self.offsets.append(n)
            n += p.numel()
        self.buffer = xp.zeros(n, dtype=params[0].dtype)
        self.pending = len(params)
        self.work = None


class DistributedDataParallel(Module):
    """Wraps a module for data-parallel training over the default process group.

    device_ids, output_device, dim, process_group, check_reduction, gradient_as_bucket_view
    and static_graph are accepted for torch's signature: the device is the parameters',
    the group the default one, and the gradients always end as views of the buckets.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=True, static_graph=False):
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: the default process group is not initialized; "
                               "call minitensor.distributed.init_process_group() first")
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got {type(module).__name__}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True     # nanoGPT flips this instead of no_sync()
        self.require_forward_param_sync = True
        self._named_params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._check_same_model_on_every_rank()
        self._broadcast_from_rank0([p for _, p in self._named_params] + list(module.buffers()))
        self._build_buckets(bucket_cap_mb * 2 ** 20)
        self._syncing = False          # is a synchronized backward under way?
        self._hook_handles = [p.register_post_accumulate_grad_hook(self._grad_ready)
                              for _, p in self._named_params]

    # ------------------------------------------------------------ wrap time

    def _check_same_model_on_every_rank(self):
        """Every rank must hold the same parameter names, shapes and dtypes, else the
        buckets would not line up and the all-reduces would mix unrelated numbers."""
        mine = [[name, list(p.shape), str(p.dtype)] for name, p in self._named_params]
        mine += [[name, list(b.shape), str(b.dtype)] for name, b in self.module.named_buffers()]
        models = [json.loads(m) for m in dist.all_gather_bytes(json.dumps(mine).encode())]
        reference = models[0]
        for rank, model in enumerate(models[1:], start=1):
            if model == reference:
                continue
            diffs = [f"{a[0]}: rank 0 {tuple(a[1])} {a[2]}, rank {rank} {tuple(b[1])} {b[2]}"
                     for a, b in zip(reference, model) if a != b][:5]
            if len(model) != len(reference):
                diffs.append(f"rank 0 has {len(reference)} parameters and buffers, rank {rank} has {len(model)}")
            raise RuntimeError("DistributedDataParallel: the model differs across ranks (every rank must "
                               "build the same model): " + "; ".join(diffs))

    def _broadcast_from_rank0(self, tensors):
        with no_grad():
            for t in tensors:
                if not t.array.flags.c_contiguous:
                    t.array = t.xp.ascontiguousarray(t.array)
                dist.broadcast(t, src=0)

    def _build_buckets(self, cap_bytes):
        backend = dist.process_group._get('DistributedDataParallel').backend
        self._backend = backend
        self._buckets, self._where = [], {}     # id(param) -> (bucket, position)
        current, size, key = [], 0, None
        for _, p in reversed(self._named_params):
            p_key = (p.device, p.dtype)
            if current and (size + p.array.nbytes > cap_bytes or p_key != key):
                self._buckets.append(_Bucket(current, current[0].xp))
                current, size = [], 0
            current.append(p)
            size += p.array.nbytes
            key = p_key
        if current:
            self._buckets.append(_Bucket(current, current[0].xp))
        for bucket in self._buckets:
            for i, p in enumerate(bucket.params):
                self._where[id(p)] = (bucket, i)
        on_gpu = any(p.device == 'gpu' for _, p in self._named_params)
        self._stream = backend.new_side_stream() if on_gpu and hasattr(backend, 'new_side_stream') else None

    # ------------------------------------------------------------ forward

    def forward(self, *args, **kwargs):
        if self._syncing and (self._launched or any(0 < b.pending < len(b.params) for b in self._buckets)):
            missing = [n for n, p in self._named_params if self._where[id(p)][0].pending
                       and p.grad is None][:10]
            self._syncing = False
            raise RuntimeError(
                "DistributedDataParallel: the previous backward did not produce gradients for every "
                "parameter, so its reduction never finished (parameters without a gradient: "
                f"{', '.join(missing) or 'unknown'}). Pass find_unused_parameters=True if some "
                "parameters are legitimately unused in forward.")
        if self.broadcast_buffers and self.training and dist.get_world_size() > 1:
            self._broadcast_from_rank0(list(self.module.buffers()))
        self._syncing = is_grad_enabled() and self.require_backward_grad_sync
        if self._syncing:
            for bucket in self._buckets:
                bucket.pending, bucket.work = len(bucket.params), None
            self._launched = 0
        out = self.module(*args, **kwargs)
        if self._syncing and self.find_unused_parameters:
            self._mark_unused_ready(out)
        return out

    def _mark_unused_ready(self, out):
        """Parameters no output depends on will get no gradient: count them ready now
        (they contribute zeros), so their buckets still reduce."""
        used = _leaves_reached(out)
        for _, p in self._named_params:
            if id(p) not in used:
                self._grad_ready(p)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward inside this context only accumulates local gradients (no communication);
        the first synchronized backward after it averages the accumulated sums."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------ during backward

    def _grad_ready(self, p):
        if not self._syncing:
            return
        bucket, _ = self._where[id(p)]
        bucket.pending -= 1
        if bucket.pending == 0:
            self._launch(bucket)
            self._launched += 1
            if self._launched == len(self._buckets):
                self._finish()

    def _launch(self, bucket):
        """Copy the bucket's gradients into its buffer and start the all-reduce."""
        if self._stream is not None:              # after the gradients, on the side stream
            self._backend.follow_current_stream(self._stream)
            with self._stream:
                self._flatten(bucket)
            bucket.work = self._backend.all_reduce(bucket.buffer, dist.ReduceOp.AVG, async_op=True,
                                                   stream=self._stream)
        else:
            self._flatten(bucket)
            bucket.work = self._backend.all_reduce(bucket.buffer, dist.ReduceOp.AVG, async_op=True)

    @staticmethod
    def _flatten(bucket):
        for p, offset in zip(bucket.params, bucket.offsets):
            flat = bucket.buffer[offset:offset + p.numel()]
            if p.grad is None:            # an unused parameter (find_unused_parameters)
                flat[...] = 0
            else:
                flat[...] = p.grad.array.reshape(-1)

    def _finish(self):
        """Wait for every bucket, then point each .grad at its slice of the averaged buffer."""
        for bucket in self._buckets:
            bucket.work.wait()
            for p, offset in zip(bucket.params, bucket.offsets):
                p.grad = Tensor._wrap(bucket.buffer[offset:offset + p.numel()].reshape(p.shape))
        self._syncing = False


def _leaves_reached(out):
    """ids of the leaf tensors that the outputs' graphs reach."""
    stack = [t.grad_fn for t in _tensors_in(out) if t.grad_fn is not None]
    seen, leaves = set(), {id(t) for t in _tensors_in(out) if t.grad_fn is None}
    while stack:
        fn = stack.pop()
        if id(fn) in seen or fn.inputs is None:
            continue
        seen.add(id(fn))
        for t in fn.inputs:
            if t.grad_fn is None:
                leaves.add(id(t))
            else:
                stack.append(t.grad_fn)
    return leaves


def _tensors_in(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors_in(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _tensors_in(o)]
    return []
