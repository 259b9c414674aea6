"""Loss curves of minitensor and PyTorch on the same recipe, side by side.

    python benchmarks/loss_curves.py --device gpu --preset lecture --max-iters 1000 --eval-interval 250

Both models start from the same weights (minitensor's init copied into the PyTorch
twin of gpt/torch_reference.py) and see the same batches; only dropout masks differ.
Both use AdamW at the preset's peak lr (no schedule). Prints train/val loss of each
at every eval, so a fast path that changed the math shows up as curves that drift
apart beyond noise.
"""
import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import minitensor as mt  # noqa: E402
from gpt.config import gpt_config, preset  # noqa: E402
from gpt.data import CharTokenizer, TextBatches, load_text  # noqa: E402
from gpt.models import GPT, INITS  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='gpu', choices=['cpu', 'gpu'], help='where both models train')
    parser.add_argument('--preset', default='lecture', help="gpt.config preset ('lecture' or 'small')")
    parser.add_argument('--max-iters', type=int, default=1000, help='optimizer steps for each model')
    parser.add_argument('--eval-interval', type=int, default=250, help='steps between loss estimates')
    parser.add_argument('--eval-iters', type=int, default=50, help='batches per split in each estimate')
    parser.add_argument('--attention', default='per_head', choices=['per_head', 'batched', 'sdpa'],
                        help="the PyTorch twin's attention: the lecture's per-head loop, or its heads batched "
                             "through SDPA ('sdpa' is another name for 'batched'); minitensor runs batched")
    parser.add_argument('--seed', type=int, default=1337, help='seed of the weights and batches')
    parser.add_argument('--only', default='both', choices=['both', 'minitensor', 'torch'],
                        help='train one of the two only (e.g. a long PyTorch reference run)')
    parser.add_argument('--init', default=None, choices=INITS,
                        help="weight init (GPTConfig.init); default: the preset's")
    parser.add_argument('--torch-weights', default='shared', choices=['shared', 'own'],
                        help="the twin's initial weights: a copy of minitensor's, or its own draw from "
                             "torch's generator (with --only torch: a run independent of minitensor's RNG)")
    args = parser.parse_args()
    mt.backends.tune_cpu_allocator()      # glibc keeps freed blocks: no page faults per temporary
    if args.torch_weights == 'own' and args.only != 'torch':
        parser.error("--torch-weights own gives the two models different weights; use it with --only torch")

    import torch
    from gpt.torch_reference import build_torch_gpt, copy_weights

    cfg = preset(args.preset)
    if args.init is not None:
        cfg = replace(cfg, init=args.init)
    mt.manual_seed(args.seed)
    torch.manual_seed(args.seed)
    text = load_text(None)
    tok = CharTokenizer.from_text(text)
    data = TextBatches(text, tok, cfg.block_size, cfg.batch_size, device=args.device)
    gcfg = gpt_config(cfg, tok.vocab_size)
    ours = GPT(gcfg).to(args.device)
    tdev = 'cuda' if args.device == 'gpu' else 'cpu'
    attention = 'batched' if args.attention == 'sdpa' else args.attention
    theirs = build_torch_gpt(replace(gcfg, attention=attention)).to(tdev)
    if args.torch_weights == 'shared':
        copy_weights(ours, theirs)
    opt_ours = mt.optim.AdamW(ours.parameters(), lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2),
                              weight_decay=cfg.weight_decay)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2),
                                   weight_decay=cfg.weight_decay)
    to_torch = lambda t: torch.as_tensor(t.numpy(), device=tdev)  # noqa: E731

    eval_gen_seed = args.seed + 1
    run_ours, run_theirs = args.only in ('both', 'minitensor'), args.only in ('both', 'torch')

    def estimate():
        gen = mt.Generator().manual_seed(eval_gen_seed)
        ours.eval(), theirs.eval()
        sums = {}
        with mt.no_grad(), torch.no_grad():
            for split in ('train', 'val'):
                a = b = 0.0
                for _ in range(args.eval_iters):
                    x, y = data.get_batch(split, gen)
                    a += ours(x, y)[1].item() if run_ours else float('nan')
                    b += theirs(to_torch(x), to_torch(y))[1].item() if run_theirs else float('nan')
                sums[split] = (a / args.eval_iters, b / args.eval_iters)
        ours.train(), theirs.train()
        return sums

    print(f"preset {args.preset}, {args.max_iters} steps, device {args.device}, torch {torch.__version__} "
          f"({attention}), init {gcfg.init}; "
          + ("both from the same weights and batches" if args.only == 'both' else f"{args.only} only, "
             f"initial weights {'drawn by torch' if args.torch_weights == 'own' else 'of minitensor'}"))
    print(f"{'step':>6} {'train mt':>9} {'train torch':>11} {'val mt':>8} {'val torch':>9} {'|dval|':>7}")
    start = time.time()
    for step in range(args.max_iters + 1):
        if step % args.eval_interval == 0 or step == args.max_iters:
            s = estimate()
            print(f"{step:6d} {s['train'][0]:9.4f} {s['train'][1]:11.4f} {s['val'][0]:8.4f} "
                  f"{s['val'][1]:9.4f} {abs(s['val'][0] - s['val'][1]):7.4f}", flush=True)
        if step == args.max_iters:
            break
        x, y = data.get_batch('train')
        if run_ours:
            _, loss = ours(x, y)
            opt_ours.zero_grad(set_to_none=True)
            loss.backward()
            opt_ours.step()
        if run_theirs:
            _, tloss = theirs(to_torch(x), to_torch(y))
            opt_theirs.zero_grad(set_to_none=True)
            tloss.backward()
            opt_theirs.step()
    print(f"wall {time.time() - start:.1f} s")


if __name__ == '__main__':
    main()
