"""Training configuration: the TrainConfig dataclass, its mapping to GPTConfig, and presets.

Presets:
  bigram   the lecture's bigram.py (a 65x65 lookup table; val loss about 2.49)
  lecture  the lecture's gpt.py (10.8M parameters; a GPU run, val loss about 1.48)
  small    nanoGPT's shakespeare_char recipe for a CPU (a 0.8M-parameter GPT in minutes)
  speedrun the lecture's GPT to val 1.50 as fast as it goes on an H100 (issue 15): stops there

Every TrainConfig field is a flag of `python -m gpt.train` (gpt.settings.add_flags);
the GPT's own fields (GPTConfig's, but vocab_size, which comes from the data) are
TrainConfig fields with GPTConfig's help, and GPTConfig is the one that checks them.
"""
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Optional

from .errors import ConfigError
from .models import GPTConfig
from .precision import DTYPES
from .settings import flags_of, setting

MODEL_TYPES = ('bigram', 'gpt')
# the GPTConfig fields a training run sets (vocab_size comes from the corpus)
MODEL_FIELDS = tuple(f.name for f in fields(GPTConfig) if f.name != 'vocab_size')
# what a resumed run cannot change: the weights' shapes depend on it
ARCHITECTURE_FIELDS = ('model', 'n_embd', 'n_head', 'n_layer', 'block_size')
SEED_RANGE = (-2 ** 63, 2 ** 64)     # torch.manual_seed's: negative seeds wrap modulo 2**64


def model_setting(name, default):
    """A TrainConfig field for GPTConfig's field `name`: its help text, with our default."""
    meta = next(f for f in fields(GPTConfig) if f.name == name).metadata
    return setting(default, meta['help'], flags=meta['flags'], choices=meta['choices'], metavar=meta['metavar'])


@dataclass
class TrainConfig:
    """Everything a training run needs; each field is a flag of `python -m gpt.train`."""
    # ---- model
    model: str = setting('gpt', "which model to train", choices=MODEL_TYPES)
    n_embd: int = model_setting('n_embd', 128)
    n_head: int = model_setting('n_head', 4)
    n_layer: int = model_setting('n_layer', 4)
    dropout: float = model_setting('dropout', 0.0)
    init: str = model_setting('init', 'default')
    attention: str = model_setting('attention', 'batched')
    # ---- data
    data: Optional[str] = setting(None, "a UTF-8 text file to train on (default: the packaged tiny shakespeare)",
                                  metavar='PATH')
    batch_size: int = setting(12, "sequences per step")
    block_size: int = model_setting('block_size', 64)
    # ---- optimization (AdamW; defaults are torch's, as the lecture uses them)
    max_iters: int = setting(2000, "total optimizer steps")
    learning_rate: float = setting(1e-3, "(peak) learning rate; the constant one without --decay-lr",
                                   flags=('--lr', '--learning-rate'))
    weight_decay: float = setting(0.01, "AdamW's decoupled weight decay")
    decay_all_params: bool = setting(True, "decay every parameter (--no-decay-all-params: only matrices "
                                           "and embeddings, >= 2-D, as nanoGPT)")
    beta1: float = setting(0.9, "AdamW beta1 (first-moment decay)")
    beta2: float = setting(0.999, "AdamW beta2 (second-moment decay)")
    grad_clip: float = setting(0.0, "clip the global gradient norm to this (0: off)")
    decay_lr: bool = setting(False, "nanoGPT's schedule: linear warm-up, then cosine decay to --min-lr")
    warmup_iters: int = setting(0, "steps of linear learning-rate warm-up (with --decay-lr)")
    lr_decay_iters: Optional[int] = setting(None, "step where the cosine reaches --min-lr (default: "
                                                  "--max-iters)")
    min_lr: float = setting(1e-4, "final learning rate of the cosine decay")
    # ---- evaluation and logging
    eval_interval: int = setting(250, "estimate losses (and checkpoint) every N steps")
    eval_iters: int = setting(20, "batches per split in each loss estimate")
    log_interval: int = setting(10, "read the training loss (a host sync) every N steps")
    # ---- stopping at a target (the speedrun): gpt/stopping.py
    target_val: Optional[float] = setting(None, "stop at the first evaluation whose val loss, the mean over "
                                                "--eval-iters fixed val batches, is <= this, and print the "
                                                "step and the seconds from the command's start (default: "
                                                "train to --max-iters; the untrained model is not evaluated)")
    check_iters: int = setting(10, "with --target-val: every --eval-interval steps a cheap val estimate over "
                                   "this many of the fixed batches; the full --eval-iters measurement runs "
                                   "only when it is near the target")
    eval_batch_size: Optional[int] = setting(None, "with --target-val: sequences per fixed val batch (default: "
                                                   "--batch-size; the speedrun keeps 64, so a run with another "
                                                   "--batch-size is measured on the same text)")
    target_margin: float = setting(0.03, "with --target-val: how far above the target a cheap estimate "
                                         "still triggers the full measurement, until a full measurement "
                                         "has calibrated the cheap one")
    calibrated_margin: float = setting(0.01, "with --target-val: the same margin once the cheap estimate is "
                                             "corrected by the last full measurement's offset")
    # ---- run
    seed: int = setting(1337, "random seed of weights, batches and dropout (negative seeds wrap modulo "
                              "2**64, as torch.manual_seed)")
    device: str = setting('cpu', "'cpu' or 'gpu' (needs CuPy: pip install -e '.[gpu]')")
    out_dir: str = setting('runs/small', "run directory for ckpt.npz, log.csv, sample.txt (default: "
                                         "runs/<preset>)", flags=('--out', '--out-dir'), metavar='DIR')
    tf32: bool = setting(False, "TF32 matmuls on the GPU (faster, ~1e-3 relative error)")
    warm_kernels: bool = setting(True, "on the GPU, compile the step's kernels from several threads before "
                                       "the first step (a machine's first run compiles them all; NVRTC runs "
                                       "outside Python's GIL)")
    cuda_graph: bool = setting(True, "on the GPU, capture the training step once as a CUDA graph and "
                                     "replay it (--no-cuda-graph: eager steps, the readable reference; "
                                     "the same losses)")
    dtype: str = setting('float32', "number format: float32; tf32 (as --tf32); bf16 (autocast to "
                                    "bfloat16: GEMMs in bf16, softmax/norms/loss and the weights in "
                                    "float32); fp16 (autocast to float16 with a GradScaler)",
                         choices=DTYPES)
    sample_tokens: int = setting(500, "characters generated at the end of training (0: none)")
    progress: bool = setting(True, "a tqdm bar when tqdm is installed and stdout is a terminal "
                                   "(--no-progress: plain log lines)")

    def validate(self):
        """Raise ConfigError (a ValueError) naming the first bad setting and its flag."""
        try:
            self._check()
        except ConfigError as e:
            if not e.names:
                raise
            flags = ', '.join(flag_of(name) for name in e.names)
            raise ConfigError(f"{e} ({flags})", *e.names) from None
        return self

    def _check(self):
        if self.dtype not in DTYPES:
            raise ConfigError(f"unknown dtype {self.dtype!r}: expected one of {', '.join(DTYPES)}", 'dtype')
        if self.model not in MODEL_TYPES:
            raise ConfigError(f"unknown model {self.model!r}: expected one of {', '.join(MODEL_TYPES)}", 'model')
        if self.model == 'gpt':
            gpt_config(self, vocab_size=1)
        else:           # the bigram uses block_size only (for its batches)
            GPTConfig(vocab_size=1, block_size=self.block_size)
        for name in ('batch_size', 'max_iters', 'eval_interval', 'eval_iters', 'log_interval', 'check_iters'):
            check_int(self, name, low=1)
        check_int(self, 'warmup_iters', low=0)
        check_int(self, 'sample_tokens', low=0)
        if self.lr_decay_iters is not None:
            check_int(self, 'lr_decay_iters', low=1)
        if self.eval_batch_size is not None:
            check_int(self, 'eval_batch_size', low=1)
        check_int(self, 'seed', *SEED_RANGE)
        check_number(self, 'learning_rate', positive=True)
        if self.target_val is not None:
            check_number(self, 'target_val', positive=True)
        for name in ('weight_decay', 'min_lr', 'grad_clip', 'target_margin', 'calibrated_margin'):
            check_number(self, name)
        for name in ('beta1', 'beta2'):
            check_number(self, name, below=1.0)

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        """Rebuild from a checkpoint's dict, ignoring keys a newer/older version lacks."""
        if not isinstance(d, dict):
            raise ConfigError(f"a train config must be a dict, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def flag_of(name):
    """The command-line flag of a TrainConfig field."""
    return next(flags_of(f)[0] for f in fields(TrainConfig) if f.name == name)


def check_int(cfg, name, low, high=None):
    value = getattr(cfg, name)
    if type(value) is not int or value < low or (high is not None and value >= high):
        want = {0: 'an integer >= 0', 1: 'a positive integer'}.get(low, f'an integer in [{low}, {high})')
        raise ConfigError(f"{name} must be {want}, got {value!r}", name)


def check_number(cfg, name, positive=False, below=None):
    """A finite float >= 0 (> 0 if positive, < below if given): NaN and inf never pass."""
    value = getattr(cfg, name)
    ok = type(value) in (int, float) and math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not ok or (below is not None and value >= below):
        want = 'a positive finite number' if positive else 'a finite number >= 0'
        raise ConfigError(f"{name} must be {want}{f' below {below}' if below is not None else ''}, "
                          f"got {value!r}", name)


def gpt_config(cfg, vocab_size):
    """The GPTConfig of a TrainConfig: the one mapping (checkpoints, training, benchmarks)."""
    return GPTConfig(vocab_size=vocab_size, **{name: getattr(cfg, name) for name in MODEL_FIELDS})


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
    # issue 15: the lecture's GPT (10.8M parameters, block 256, dropout 0.2) trained with nanoGPT's
    # config/train_shakespeare_char.py recipe (warm-up 100 + cosine from 1e-3 to 1e-4, weight
    # decay 0.1 on >= 2-D params, betas (0.9, 0.99), grad clip 1.0, N(0, 0.02) init) with TF32,
    # stopping at the first full measurement (100 fixed val batches) <= 1.50; a cheap 10-batch
    # estimate every 50 steps decides when to measure (gpt/stopping.py). The cosine ends at step
    # 1500 instead of 5000: on an H200 (2026-11-23, benchmarks/RESULTS.md) that reached 1.50 at
    # steps 1150/1250/1200 (seeds 1337-1339) where nanoGPT's 5000-step cosine took 1400; lr 2e-3
    # with dropout 0 diverged.
    'speedrun': dict(model='gpt', batch_size=64, block_size=256, n_embd=384, n_head=6, n_layer=6,
                     dropout=0.2, init='normal', max_iters=5000, learning_rate=1e-3, decay_lr=True,
                     warmup_iters=100, lr_decay_iters=1500, min_lr=1e-4, weight_decay=0.1,
                     decay_all_params=False, beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=50,
                     eval_iters=100, eval_batch_size=64, log_interval=50, target_val=1.5, check_iters=10,
                     target_margin=0.02, calibrated_margin=0.02,
                     tf32=True, sample_tokens=300, out_dir='runs/speedrun'),
}
# without --preset: the GPU trains the lecture's GPT, the CPU the small one (minutes on a laptop)
DEFAULT_PRESETS = {'cpu': 'small', 'gpu': 'lecture'}


def default_preset(device):
    return DEFAULT_PRESETS['gpu' if device in ('gpu', 'cuda') else 'cpu']


def preset(name, **overrides):
    """The TrainConfig of a named preset, with field overrides."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}: expected one of {', '.join(PRESETS)} (--preset)")
    return replace(TrainConfig(**PRESETS[name]), **overrides)
