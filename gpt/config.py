"""Training configuration: the TrainConfig dataclass and named presets.

Presets:
  bigram   the lecture's bigram.py (a 65x65 lookup table; val loss about 2.49)
  lecture  the lecture's gpt.py (10.8M parameters; a GPU run, val loss about 1.48)
  small    nanoGPT's shakespeare_char recipe for a CPU (a 0.8M-parameter GPT in minutes)
"""
from dataclasses import asdict, dataclass, fields, replace
from typing import Optional

from .models import INITS


@dataclass
class TrainConfig:
    # ---- model
    model: str = 'gpt'                  # 'bigram' or 'gpt'
    n_embd: int = 128
    n_head: int = 4
    n_layer: int = 4
    dropout: float = 0.0
    init: str = 'default'               # 'default' (PyTorch's per-layer init) or 'normal' (N(0, 0.02))
    # ---- data
    data: Optional[str] = None          # a UTF-8 text file; None: the packaged tiny shakespeare
    batch_size: int = 12                # sequences per step
    block_size: int = 64                # characters per sequence (the model's context)
    # ---- optimization (AdamW; defaults are torch's, as the lecture uses them)
    max_iters: int = 2000               # optimizer steps
    learning_rate: float = 1e-3         # peak lr (the constant lr when decay_lr is False)
    weight_decay: float = 0.01          # decoupled (AdamW) weight decay
    decay_all_params: bool = True       # False: decay only matrices and embeddings (>= 2-D), as nanoGPT
    beta1: float = 0.9
    beta2: float = 0.999
    grad_clip: float = 0.0              # clip the global gradient norm to this; 0 disables
    decay_lr: bool = False              # nanoGPT's linear warm-up then cosine decay to min_lr
    warmup_iters: int = 0
    lr_decay_iters: Optional[int] = None   # where the cosine reaches min_lr; None: max_iters
    min_lr: float = 1e-4
    # ---- evaluation and logging
    eval_interval: int = 250            # estimate losses (and checkpoint) every this many steps
    eval_iters: int = 20                # batches averaged per split in each estimate
    log_interval: int = 10              # read the training loss (a host sync) every this many steps
    # ---- run
    seed: int = 1337
    device: str = 'cpu'
    out_dir: str = 'runs/small'         # ckpt.npz, log.csv and sample.txt go here
    tf32: bool = False                  # TF32 matmuls on the GPU (faster, ~1e-3 relative error)
    sample_tokens: int = 500            # characters generated at the end of training; 0: none
    progress: bool = True               # a tqdm bar when tqdm is installed and stdout is a terminal

    def validate(self):
        """Raise ValueError naming the first bad setting and its command-line flag."""
        if self.model not in ('bigram', 'gpt'):
            raise ValueError(f"unknown model {self.model!r}: expected 'bigram' or 'gpt' (--model)")
        positive = ['batch_size', 'block_size', 'max_iters', 'eval_interval', 'eval_iters',
                    'log_interval']
        if self.model == 'gpt':
            positive += ['n_embd', 'n_head', 'n_layer']
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r} "
                                 f"(--{name.replace('_', '-')})")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate} (--lr)")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout} (--dropout)")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {self.init!r} (--init)")
        if self.model == 'gpt' and self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}) "
                             f"(--n-embd, --n-head)")
        if self.sample_tokens < 0:
            raise ValueError(f"sample_tokens must be >= 0, got {self.sample_tokens} (--sample-tokens)")
        return self

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        """Rebuild from a checkpoint's dict, ignoring keys a newer/older version lacks."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


PRESETS = {
    # the lecture's bigram.py
    'bigram': dict(model='bigram', batch_size=32, block_size=8, max_iters=3000, learning_rate=1e-2,
                   eval_interval=300, eval_iters=200, out_dir='runs/bigram'),
    # the lecture's gpt.py: AdamW with torch defaults, constant lr, no clipping
    'lecture': dict(model='gpt', batch_size=64, block_size=256, n_embd=384, n_head=6, n_layer=6,
                    dropout=0.2, max_iters=5000, learning_rate=3e-4, eval_interval=500,
                    eval_iters=200, out_dir='runs/lecture'),
    # nanoGPT's README CPU run of config/train_shakespeare_char.py
    # (--block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000
    #  --lr_decay_iters=2000 --dropout=0.0 --eval_iters=20), with that config's and train.py's
    # other settings: warm-up 100 + cosine to 1e-4, weight decay 0.1 on >= 2-D params only,
    # betas (0.9, 0.99), grad clip 1.0, eval every 250 steps, and nanoGPT's N(0, 0.02) init
    # (from PyTorch's default init this recipe ends at val 1.87 instead of 1.77)
    'small': dict(model='gpt', batch_size=12, block_size=64, n_embd=128, n_head=4, n_layer=4,
                  dropout=0.0, init='normal', max_iters=2000, learning_rate=1e-3, decay_lr=True,
                  warmup_iters=100, lr_decay_iters=None, min_lr=1e-4, weight_decay=0.1,
                  decay_all_params=False, beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=250,
                  eval_iters=20, out_dir='runs/small'),
}
DEFAULT_PRESET = 'small'   # a bare `python -m gpt.train` trains a real GPT on a CPU in minutes


def preset(name, **overrides):
    """The TrainConfig of a named preset, with field overrides."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: expected one of {', '.join(PRESETS)} (--preset)")
    return replace(TrainConfig(**PRESETS[name]), **overrides)
