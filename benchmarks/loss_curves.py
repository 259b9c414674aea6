"""Loss curves of minitensor and PyTorch on the same recipe, side by side.

    python benchmarks/loss_curves.py --device gpu --preset lecture --max-iters 1000 --eval-interval 250

Both models start from the same weights (minitensor's init copied into the PyTorch
twin of benchmarks/torch_gpt.py) and see the same batches; only dropout masks differ.
Both use AdamW at the preset's peak lr (no schedule). Prints train/val loss of each
at every eval, so a fast path that changed the math shows up as curves that drift
apart beyond noise.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import minitensor as mt  # noqa: E402
from gpt.config import preset  # noqa: E402
from gpt.data import CharTokenizer, TextBatches, load_text  # noqa: E402
from gpt.models import GPT, GPTConfig  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='gpu', choices=['cpu', 'gpu'], help='where both models train')
    parser.add_argument('--preset', default='lecture', help="gpt.config preset ('lecture' or 'small')")
    parser.add_argument('--max-iters', type=int, default=1000, help='optimizer steps for each model')
    parser.add_argument('--eval-interval', type=int, default=250, help='steps between loss estimates')
    parser.add_argument('--eval-iters', type=int, default=50, help='batches per split in each estimate')
    parser.add_argument('--attention', default='per_head', choices=['per_head', 'sdpa'],
                        help="the PyTorch twin's attention: the lecture's per-head loop or SDPA")
    parser.add_argument('--seed', type=int, default=1337, help='seed of the weights and batches')
    parser.add_argument('--only', default='both', choices=['both', 'minitensor', 'torch'],
                        help='train one of the two only (e.g. a long PyTorch reference run)')
    parser.add_argument('--init', default='default', choices=['default', 'normal'],
                        help="weight init: PyTorch's per-layer default or N(0, 0.02) (GPTConfig.init)")
    parser.add_argument('--torch-weights', default='shared', choices=['shared', 'own'],
                        help="the twin's initial weights: a copy of minitensor's, or its own draw from "
                             "torch's generator (with --only torch: a run independent of minitensor's RNG)")
    args = parser.parse_args()
    mt.backends.tune_cpu_allocator()      # glibc keeps freed blocks: no page faults per temporary
    if args.torch_weights == 'own' and args.only != 'torch':
        parser.error("--torch-weights own gives the two models different weights; use it with --only torch")

    import torch
    from torch_gpt import build_torch_gpt

    cfg = preset(args.preset)
    mt.manual_seed(args.seed)
    torch.manual_seed(args.seed)
    text = load_text(None)
    tok = CharTokenizer.from_text(text)
    data = TextBatches(text, tok, cfg.block_size, cfg.batch_size, device=args.device)
    gcfg = GPTConfig(vocab_size=len(tok.chars), block_size=cfg.block_size,
                     n_embd=cfg.n_embd, n_head=cfg.n_head, n_layer=cfg.n_layer, dropout=cfg.dropout,
                     init=args.init)
    ours = GPT(gcfg).to(args.device)
    tdev = 'cuda' if args.device == 'gpu' else 'cpu'
    theirs = build_torch_gpt(gcfg.vocab_size, gcfg.block_size, gcfg.n_embd, gcfg.n_head, gcfg.n_layer,
                             gcfg.dropout, attention=args.attention,
                             init=args.init).to(tdev)
    if args.torch_weights == 'shared':
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
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
          f"({args.attention}), init {args.init}; "
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
