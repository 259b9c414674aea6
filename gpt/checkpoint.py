"""A run's checkpoint: one self-describing file, `<out>/ckpt.npz`, written atomically.

It holds everything needed to sample from the model or resume training exactly:
model weights and config, optimizer state, step, train config, the tokenizer's
vocabulary, the random generator's state and the best validation loss. mt.save writes
a temporary file and renames it, so an interrupted save leaves the previous checkpoint.
A checkpoint is read as untrusted input: load_checkpoint checks every entry's type and
that the sizes its model_spec declares are the sizes of the weights it holds, before a
model is built from it.
"""
from dataclasses import fields
from pathlib import Path

import minitensor as mt

from .config import MODEL_TYPES, gpt_config
from .data import CharTokenizer
from .errors import UserError
from .models import GPT, BigramLanguageModel, GPTConfig

KIND = 'minitensor-gpt-run'   # tells our checkpoints from other minitensor files
VERSION = 1
CHECKPOINT_NAME = 'ckpt.npz'
ENTRIES = {'step': int, 'model_spec': dict, 'model_state': dict, 'optimizer_state': dict,
           'train_config': dict, 'vocab': str, 'rng_state': dict, 'best_val_loss': (int, float)}


def model_spec(cfg, vocab_size):
    """The plain dict a checkpoint stores to rebuild the model of TrainConfig `cfg`."""
    if cfg.model == 'bigram':
        return {'model': 'bigram', 'vocab_size': vocab_size}
    return {'model': 'gpt', **gpt_config(cfg, vocab_size).to_dict()}


def build_model(spec):
    """A freshly initialised model from model_spec's dict."""
    spec = dict(spec)
    model_type = spec.pop('model')
    if model_type == 'bigram':
        return BigramLanguageModel(spec['vocab_size'])
    return GPT(GPTConfig(**spec))


def save_checkpoint(path, *, model, optimizer, step, spec, train_config, tokenizer, best_val_loss):
    mt.save({
        'kind': KIND,
        'version': VERSION,
        'step': step,                                   # optimizer steps completed
        'model_spec': spec,
        'model_state': model.state_dict(),
        'optimizer_state': optimizer.state_dict(),
        'train_config': train_config.to_dict(),
        'vocab': tokenizer.to_string(),
        'rng_state': mt.default_generator.get_state(),  # after this step's draws: resume draws on
        'best_val_loss': best_val_loss,
    }, path)


def save_torch_weights(path, model):
    """The weights alone, under the lecture's parameter names, as `model.safetensors`: the
    lecture's own PyTorch GPTLanguageModel loads them with
    `model.load_state_dict(safetensors.torch.load_file(path))`. Written atomically, and
    only where the optional safetensors package is installed; returns whether it wrote."""
    try:
        import safetensors  # noqa: F401  (the optional `safetensors` extra)
    except ImportError:
        return False
    mt.save(model.state_dict(), path)
    return True


def load_checkpoint(path):
    """The checkpoint dict at `path` (tensors on the CPU), checked; UserError for anything else."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}; train a model first with "
                        f"`python -m gpt.train --out DIR` and pass DIR/{CHECKPOINT_NAME}")
    try:
        ckpt = mt.load(path, map_location='cpu')   # tensors saved on a GPU come back on the CPU
    except (ValueError, OSError) as e:               # mt.load names the file and what is wrong
        raise UserError(str(e)) from None
    if not isinstance(ckpt, dict) or ckpt.get('kind') != KIND:
        raise UserError(f"{path} is a minitensor file but not a gpt training checkpoint (no "
                        f"'kind': {KIND!r}); pass a ckpt.npz written by `python -m gpt.train`")
    if not isinstance(ckpt.get('version'), int) or ckpt['version'] > VERSION:
        raise UserError(f"{path} was written by a newer version of gpt (checkpoint version "
                        f"{ckpt.get('version')!r}, this one reads {VERSION}); upgrade minitensor to read it")
    try:
        check_contents(ckpt)
    except UserError as e:
        raise UserError(f"{path} is damaged or was not written by gpt.train: {e}") from None
    return ckpt


def check_contents(ckpt):
    """Raise UserError unless every entry has its type and the model_spec fits the weights."""
    for key, kind in ENTRIES.items():
        value = ckpt.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UserError(f"entry {key!r} is {type(value).__name__}, expected "
                            f"{getattr(kind, '__name__', 'a number')}")
    if ckpt['step'] < 0 or not ckpt['vocab']:
        raise UserError(f"step {ckpt['step']} or vocabulary of {len(ckpt['vocab'])} characters is impossible")
    state = ckpt['model_state']
    bad = next((k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, mt.Tensor)), None)
    if bad is not None:
        raise UserError(f"model_state entry {bad!r} is not a tensor")
    spec = dict(ckpt['model_spec'])
    model_type = spec.pop('model', None)
    if model_type not in MODEL_TYPES:
        raise UserError(f"model_spec's model is {model_type!r}, expected one of {', '.join(MODEL_TYPES)}")
    known = {f.name for f in fields(GPTConfig)} if model_type == 'gpt' else {'vocab_size'}
    if set(spec) - known:
        raise UserError(f"model_spec has unknown entries {sorted(set(spec) - known)}")
    try:
        config = GPTConfig(**spec) if model_type == 'gpt' else GPTConfig(vocab_size=spec.get('vocab_size'))
    except UserError as e:
        raise UserError(f"model_spec: {e}") from None
    # the declared sizes must be those of the weights (which are in memory already), so
    # an absurd spec can't make build_model allocate more than the file holds
    V, C = config.vocab_size, config.n_embd if model_type == 'gpt' else config.vocab_size
    expected = [('token_embedding_table.weight', (V, C))]
    if model_type == 'gpt':
        bs, n_layer, n_head = config.block_size, config.n_layer, config.n_head
        last_block, last_head = f'blocks.{n_layer - 1}.ln1.weight', f'blocks.0.sa.heads.{n_head - 1}.tril'
        if (last_block not in state or f'blocks.{n_layer}.ln1.weight' in state
                or last_head not in state or f'blocks.0.sa.heads.{n_head}.tril' in state):
            raise UserError(f"model_spec's n_layer={n_layer} and n_head={n_head} are not the blocks and "
                            f"heads of model_state")
        expected.append(('position_embedding_table.weight', (bs, C)))
        expected += [(f'blocks.{i}.sa.heads.{j}.tril', (bs, bs)) for i in range(n_layer) for j in range(n_head)]
    for key, shape in expected:
        if key not in state or tuple(state[key].shape) != shape:
            found = tuple(state[key].shape) if key in state else 'missing'
            raise UserError(f"model_spec declares {key} of shape {shape} but model_state has {found}")


def model_from_checkpoint(ckpt, device='cpu'):
    """(model on `device` with the checkpoint's weights, its CharTokenizer) from a checked checkpoint."""
    tokenizer = CharTokenizer.from_string(ckpt['vocab'])
    if tokenizer.vocab_size != ckpt['model_spec']['vocab_size']:
        raise UserError(f"the checkpoint's vocabulary has {tokenizer.vocab_size} characters but its "
                        f"model was built for {ckpt['model_spec']['vocab_size']}; the file is inconsistent")
    model = build_model(ckpt['model_spec'])
    try:
        model.load_state_dict(ckpt['model_state'])
    except RuntimeError as e:                         # missing, unexpected or misshapen weights
        raise UserError(f"the checkpoint's weights don't fit its model: {e}") from None
    return model.to(device), tokenizer
