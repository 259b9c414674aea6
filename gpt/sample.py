"""`python -m gpt.sample --checkpoint runs/small/ckpt.npz`: generate text from a trained model.

    python -m gpt.sample --checkpoint runs/small/ckpt.npz --prompt "ROMEO:" --max-new-tokens 300

Prints the samples on stdout and the speed (tokens/s) on stderr. Ctrl-C prints what
was generated so far and exits with status 130.
"""
import math
import sys
import time

import minitensor as mt

from .checkpoint import load_checkpoint, model_from_checkpoint
from .data import CharTokenizer
from .errors import UserError, is_out_of_memory
from .memory import check_sampling_fits
from .settings import OneLineErrorParser


def build_parser():
    p = OneLineErrorParser(prog='python -m gpt.sample', description=__doc__.split('\n\n')[0])
    p.add_argument('--checkpoint', required=True,
                   help="a ckpt.npz written by `python -m gpt.train` (or its run directory)")
    p.add_argument('--prompt', default='\n',
                   help="text to continue; every character must be in the model's vocabulary (default: a newline)")
    p.add_argument('--max-new-tokens', type=int, default=500, help="characters to generate per sample")
    p.add_argument('--temperature', type=float, default=1.0, help="below 1: safer, above 1: wilder")
    p.add_argument('--top-k', type=int, default=None, help="sample only among the k most likely characters")
    p.add_argument('--num-samples', type=int, default=1, help="independent samples to print")
    p.add_argument('--seed', type=int, default=1337, help="random seed of the sampling")
    p.add_argument('--device', default='cpu', help="'cpu' or 'gpu'")
    p.add_argument('--no-cache', action='store_true',
                   help="rerun the whole context for every token instead of keeping each layer's keys and "
                        "values (same text, slower)")
    return p


class Sampler:
    """A checkpoint's model and tokenizer, ready to generate; `pieces` holds what is generated so far."""

    def __init__(self, checkpoint, prompt='\n', max_new_tokens=500, temperature=1.0, top_k=None,
                 num_samples=1, seed=1337, device='cpu', use_cache=True):
        if max_new_tokens <= 0:
            raise UserError(f"--max-new-tokens must be positive, got {max_new_tokens}")
        if num_samples <= 0:
            raise UserError(f"--num-samples must be positive, got {num_samples}")
        if not (math.isfinite(temperature) and temperature > 0):
            raise UserError(f"--temperature must be a positive finite number, got {temperature}")
        if top_k is not None and top_k < 1:
            raise UserError(f"--top-k must be at least 1, got {top_k}")
        if not prompt:
            raise UserError("--prompt is empty; give at least one character to start from")
        try:
            device = mt.zeros(1, device=device).device          # fails early, and clearly, without CuPy
        except (ValueError, RuntimeError) as e:
            raise UserError(f"{e} (--device)") from None
        ckpt = load_checkpoint(checkpoint)
        try:
            ids = CharTokenizer.from_string(ckpt['vocab']).encode(prompt)
        except ValueError as e:
            raise UserError(f"the prompt can't be encoded by this checkpoint's vocabulary: {e}") from None
        check_sampling_fits(ckpt['model_spec'], num_samples, len(ids), max_new_tokens, device)
        self.model, self.tokenizer = model_from_checkpoint(ckpt, device)
        mt.manual_seed(seed % 2 ** 64)                           # torch.manual_seed's rule for negative seeds
        self.idx = mt.tensor([ids] * num_samples, dtype=mt.int64, device=device)   # (num_samples, T)
        self.options = dict(max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k,
                            use_cache=use_cache)
        self.pieces = []                                         # (num_samples, 1) each

    def run(self):
        for piece in self.model.generate_tokens(self.idx, **self.options):
            self.pieces.append(piece)

    def texts(self):
        """Each sample so far: the prompt and its continuation."""
        out = mt.cat([self.idx, *self.pieces], dim=1)
        return [self.tokenizer.decode(row) for row in out.tolist()]


def sample(checkpoint, prompt='\n', max_new_tokens=500, temperature=1.0, top_k=None, num_samples=1,
           seed=1337, device='cpu', use_cache=True):
    """A list of num_samples strings, each the prompt and its continuation."""
    sampler = Sampler(checkpoint, prompt, max_new_tokens, temperature, top_k, num_samples, seed, device, use_cache)
    sampler.run()
    return sampler.texts()


def main(argv=None):
    args = build_parser().parse_args(argv)
    interrupted = False
    try:
        sampler = Sampler(args.checkpoint, args.prompt, args.max_new_tokens, args.temperature, args.top_k,
                          args.num_samples, args.seed, args.device, use_cache=not args.no_cache)
        start = time.perf_counter()
        try:
            sampler.run()
        except KeyboardInterrupt:                   # keep what was generated: print it below
            interrupted = True
        seconds = time.perf_counter() - start
    except (UserError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:                       # while loading: nothing generated yet
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if not is_out_of_memory(e):
            raise                                   # a bug: keep the traceback
        print(f"error: out of memory ({type(e).__name__}): lower --num-samples or --max-new-tokens",
              file=sys.stderr)
        return 1
    texts = sampler.texts()
    for i, text in enumerate(texts):
        if len(texts) > 1:
            print(f"--- sample {i + 1} ---")
        print(text)
    steps = len(sampler.pieces)
    print(f"{'interrupted: ' if interrupted else ''}{steps} new tokens x {args.num_samples} sample(s) in "
          f"{seconds:.2f} s: {steps * args.num_samples / max(seconds, 1e-9):,.0f} tokens/s "
          f"(KV cache {'off' if args.no_cache else 'on'})", file=sys.stderr)
    return 130 if interrupted else 0


if __name__ == '__main__':
    sys.exit(main())
