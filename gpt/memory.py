"""Lower bounds on the memory a run or a sampling job needs, checked before allocating.

A size that cannot fit would otherwise fail deep inside NumPy (MemoryError) or CuPy
(OutOfMemoryError), or make the machine swap. The bounds count only the big arrays, so
a refused size certainly does not fit; one that passes may still fail, and the
commands report that failure as one line too (gpt.errors.is_out_of_memory).
"""
import os

from .errors import UserError

FLOAT_BYTES, ID_BYTES = 4, 8
GIB = 2 ** 30


def physical_memory():
    """Bytes of RAM of this machine, or None where the OS doesn't say."""
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (ValueError, OSError, AttributeError):
        return None


def weight_floats(spec):
    """About the parameter and buffer count of model_spec `spec` (the big matrices only)."""
    V = spec['vocab_size']
    if spec['model'] == 'bigram':
        return V * V
    C, L, T, nh = spec['n_embd'], spec['n_layer'], spec['block_size'], spec['n_head']
    # embeddings and lm_head; per block q, k, v, proj (4 C^2) and the MLP (8 C^2); tril buffers
    return 2 * V * C + T * C + L * (12 * C * C + nh * T * T)


def activation_floats(spec, batch_size, tokens_per_row):
    """About the floats one forward keeps for backward (or holds at once, when sampling)."""
    B, T, V = batch_size, tokens_per_row, spec['vocab_size']
    if spec['model'] == 'bigram':
        return 3 * B * T * V
    C, L, nh = spec['n_embd'], spec['n_layer'], spec['n_head']
    # per block: LayerNorm, q/k/v, head outputs, projection, the 4x MLP and residuals (~16 C per
    # token), plus the (T, T) attention weights of every head; then the logits
    return L * (16 * B * T * C + nh * B * T * T) + 3 * B * T * V


def check_fits(needed, parts, device):
    """UserError if `needed` bytes exceed this machine's RAM (CPU runs only: the GPU's is unknown here)."""
    total = physical_memory()
    if device != 'cpu' or total is None or needed <= total:
        return
    detail = '; '.join(f"{nbytes / GIB:,.1f} GiB {what}" for what, nbytes in parts)
    raise UserError(f"this needs at least {needed / GIB:,.1f} GiB of memory ({detail}) but this machine "
                    f"has {total / GIB:,.1f} GiB")


def check_training_fits(spec, batch_size, device):
    weights = 4 * FLOAT_BYTES * weight_floats(spec)          # weights, gradients, AdamW's two moments
    activations = FLOAT_BYTES * activation_floats(spec, batch_size, spec.get('block_size', 1))
    parts = [('of weights, gradients and AdamW state: lower --n-embd or --n-layer', weights),
             ('of activations: lower --batch-size or --block-size', activations)]
    check_fits(weights + activations, parts, device)


def check_sampling_fits(spec, num_samples, prompt_tokens, max_new_tokens, device):
    context = spec.get('block_size', prompt_tokens + max_new_tokens)
    work = FLOAT_BYTES * (weight_floats(spec) + activation_floats(spec, num_samples, min(context, prompt_tokens
                                                                                         + max_new_tokens)))
    # the tokens themselves, and one small tensor object per generated step
    tokens = num_samples * (prompt_tokens + max_new_tokens) * ID_BYTES + 256 * max_new_tokens
    parts = [('for the model and one forward: lower --num-samples', work),
             ('for the generated tokens: lower --max-new-tokens or --num-samples', tokens)]
    check_fits(work + tokens, parts, device)
