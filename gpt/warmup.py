"""Compile a training step's GPU kernels from several threads before the first step runs.

CuPy compiles each kernel (NVRTC) the first time a process launches it and caches the
binary on disk; on a machine that never ran the step, the first step pays for every
kernel one after another (about 17 s for the lecture's GPT on an H200). NVRTC runs
outside Python's GIL, so kernels compiled from threads compile side by side. Each
piece below runs, on tiny tensors of the step's widths and dtypes, one part of the
step (attention core, layer norm and MLP, embeddings and loss, optimizer, batch
gather), so that between them they launch the step's kernels once.

The pieces call ops directly, with their own random generator: a warm-up must not
move the run's random stream, nor switch a global mode (grad mode, autocast) that
another thread would see.
"""
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import minitensor as mt
import minitensor.nn.functional as F
from minitensor import backend, cuda


def _tokens(n, high, device):
    return mt.tensor(np.arange(n) % high, dtype=mt.int64, device=device)


def _params(*shapes, device):
    return [mt.nn.Parameter(mt.full(shape, 0.02, device=device)) for shape in shapes]


def attention_piece(cfg, vocab_size, device, generator):
    """Scaled dot-product attention, causal, with dropout: forward and backward."""
    hs = cfg.n_embd // cfg.n_head
    T = min(cfg.block_size, 16)
    q, k, v = (mt.full((2, cfg.n_head, T, hs), 0.1, device=device, requires_grad=True) for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=cfg.dropout, is_causal=True, generator=generator)
    out.sum().backward()


def block_piece(cfg, vocab_size, device, generator):
    """Layer norm, the fused q/k/v projection and its split, the MLP with ReLU and dropout, residuals."""
    C, T = cfg.n_embd, min(cfg.block_size, 16)
    x = mt.full((2, T, C), 0.1, device=device, requires_grad=True)
    ln_w, ln_b, w_qkv, w1, b1, w2, b2 = _params((C,), (C,), (3 * C, C), (4 * C, C), (4 * C,), (C, 4 * C), (C,),
                                                device=device)
    h = F.layer_norm(x, (C,), ln_w, ln_b)
    q, k, v = F.linear(h, w_qkv).split(C, dim=-1)
    heads = q.view(2, T, cfg.n_head, C // cfg.n_head).transpose(1, 2).contiguous()      # (2, nh, T, hs)
    y = heads.transpose(1, 2).reshape(2, T, C) + k * v
    m = F.linear(F.relu(F.linear(y, w1, b1)), w2, b2)
    if cfg.dropout:
        m = F.dropout(m, cfg.dropout, generator=generator)
    out = x + m
    out.sum().backward()


def head_piece(cfg, vocab_size, device, generator):
    """Token and position embeddings, the final layer norm, lm_head and the cross-entropy."""
    C, T = cfg.n_embd, min(cfg.block_size, 16)
    wte, wpe, ln_w, ln_b, w_out, b_out = _params((vocab_size, C), (cfg.block_size, C), (C,), (C,),
                                                 (vocab_size, C), (vocab_size,), device=device)
    idx = _tokens(2 * T, vocab_size, device).view(2, T)
    x = F.embedding(idx, wte) + F.embedding(mt.arange(T, device=device), wpe)
    logits = F.linear(F.layer_norm(x, (C,), ln_w, ln_b), w_out, b_out)
    F.cross_entropy(logits.view(2 * T, vocab_size), idx.view(2 * T)).backward()


def optimizer_piece(cfg, vocab_size, device, generator):
    """Gradient clipping and AdamW, as the step runs them (under no_grad: see compile_step_kernels)."""
    params = _params((8, 4), (4,), device=device)
    for p in params:
        p.grad = mt.full(p.shape, 0.01, device=device)
    opt = mt.optim.AdamW([{'params': params[:1], 'weight_decay': 0.1}, {'params': params[1:], 'weight_decay': 0.0}])
    mt.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


def capture_piece(cfg, vocab_size, device, generator):
    """The kernels' variants that read their step values from a device slot (CUDA-graph capture)."""
    cp = backend.cupy_module()
    p, g, m, v = (cp.full((8, 4), 0.01, dtype=np.float32) for _ in range(4))
    cuda.adam_update(p, g, m, v, cp.ones(3, dtype=np.float32), 0.9, 0.99, 1e-8, 0.1, True)
    cuda.sum_of_squares([g, p])
    keys = cp.zeros(3, dtype=np.uint32)
    x = cp.ones((4, 8, 8), dtype=np.float32)
    cuda.hash_dropout(x, 0.5, keys)
    probs, _ = cuda.causal_softmax_forward(x, 1.0, 0.5, keys)
    cuda.causal_softmax_backward(x, probs, 1.0, 0.5, keys)


def data_piece(cfg, vocab_size, device, generator):
    """The batch gather: (B,) offsets + positions -> (B, T) windows of the corpus."""
    T = min(cfg.block_size, 16)
    data = _tokens(4 * T, vocab_size, device)
    offsets = mt.tensor([0, 3], dtype=mt.int64, device=device)
    idx = offsets[:, None] + mt.arange(T, device=device)[None, :]
    data[idx], data[idx + 1]


def compile_step_kernels(cfg, vocab_size, device, log=print):
    """Launch every piece once from its own thread where kernels are compiled at first use
    (the GPU); returns the seconds taken."""
    if not cuda.graphs.compiles_kernels(mt.zeros(1, device=device)):
        return 0.0
    start = time.perf_counter()
    pieces = [attention_piece, block_piece, head_piece, data_piece, capture_piece]
    with ThreadPoolExecutor(len(pieces)) as pool:
        futures = [pool.submit(piece, cfg, vocab_size, device, mt.Generator().manual_seed(i))
                   for i, piece in enumerate(pieces)]      # a generator each: they are not thread-safe
        for future in futures:
            future.result()
    # after the others, not beside them: the optimizer steps under no_grad, and grad mode is
    # process-wide here, so a backward in another thread would find it off
    optimizer_piece(cfg, vocab_size, device, mt.Generator().manual_seed(len(pieces)))
    mt.cuda.synchronize()
    seconds = time.perf_counter() - start
    log(f"kernels: compiled from {len(pieces)} threads, then the optimizer's, in {seconds:.1f} s "
        f"(cached on disk for later runs)")
    return seconds
