"""`python -m gpt.sample --checkpoint runs/small/ckpt.npz`: generate text from a trained model.

    python -m gpt.sample --checkpoint runs/small/ckpt.npz --prompt "ROMEO:" --max-new-tokens 300
"""
import argparse
import sys

import minitensor as mt

from .checkpoint import load_checkpoint, model_from_checkpoint
from .train import OneLineErrorParser


def build_parser():
    p = OneLineErrorParser(prog='python -m gpt.sample', description=__doc__.split('\n\n')[0])
    p.add_argument('--checkpoint', required=True, help="a ckpt.npz written by `python -m gpt.train` (or its run directory)")
    p.add_argument('--prompt', default='\n', help="text to continue; every character must be in the model's vocabulary (default: a newline)")
    p.add_argument('--max-new-tokens', type=int, default=500, help="characters to generate per sample")
    p.add_argument('--temperature', type=float, default=1.0, help="below 1: safer, above 1: wilder")
    p.add_argument('--top-k', type=int, default=None, help="sample only among the k most likely characters")
    p.add_argument('--num-samples', type=int, default=1, help="independent samples to print")
    p.add_argument('--seed', type=int, default=1337, help="random seed of the sampling")
    p.add_argument('--device', default='cpu', help="'cpu' or 'gpu'")
    return p


def sample(checkpoint, prompt='\n', max_new_tokens=500, temperature=1.0, top_k=None, num_samples=1,
           seed=1337, device='cpu'):
    """A list of num_samples strings, each the prompt and its continuation."""
    if max_new_tokens <= 0:
        raise ValueError(f"--max-new-tokens must be positive, got {max_new_tokens}")
    if num_samples <= 0:
        raise ValueError(f"--num-samples must be positive, got {num_samples}")
    if not prompt:
        raise ValueError("--prompt is empty; give at least one character to start from")
    device = mt.zeros(1, device=device).device          # fails early, and clearly, without CuPy
    model, tokenizer = model_from_checkpoint(load_checkpoint(checkpoint), device)
    try:
        ids = tokenizer.encode(prompt)
    except ValueError as e:
        raise ValueError(f"the prompt can't be encoded by this checkpoint's vocabulary: {e}") from None
    mt.manual_seed(seed)
    idx = mt.tensor([ids] * num_samples, dtype=mt.int64, device=device)      # (num_samples, T)
    out = model.generate(idx, max_new_tokens, temperature=temperature, top_k=top_k)
    return [tokenizer.decode(row) for row in out.tolist()]


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        texts = sample(args.checkpoint, args.prompt, args.max_new_tokens, args.temperature, args.top_k,
                       args.num_samples, args.seed, args.device)
    except (ValueError, RuntimeError, FileNotFoundError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for i, text in enumerate(texts):
        if len(texts) > 1:
            print(f"--- sample {i + 1} ---")
        print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
