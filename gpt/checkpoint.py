"""A run's checkpoint: one self-describing file, `<out>/ckpt.npz`, written atomically.

It holds everything needed to sample from the model or resume training exactly:
model weights and config, optimizer state, step, train config, the tokenizer's
vocabulary, the random generator's state and the best validation loss. mt.save writes
a temporary file and renames it, so an interrupted save leaves the previous checkpoint.
"""
from pathlib import Path

import minitensor as mt

from .data import CharTokenizer
from .models import GPT, BigramLanguageModel, GPTConfig

KIND = 'minitensor-gpt-run'   # tells our checkpoints from other minitensor files
VERSION = 1
CHECKPOINT_NAME = 'ckpt.npz'


def model_spec(model_type, vocab_size, cfg):
    """The plain dict a checkpoint stores to rebuild the model: its type and config."""
    if model_type == 'bigram':
        return {'model': 'bigram', 'vocab_size': vocab_size}
    config = GPTConfig(vocab_size=vocab_size, block_size=cfg.block_size, n_embd=cfg.n_embd,
                       n_head=cfg.n_head, n_layer=cfg.n_layer, dropout=cfg.dropout, init=cfg.init)
    return {'model': 'gpt', **config.to_dict()}


def build_model(spec):
    """A freshly initialised model from model_spec's dict."""
    spec = dict(spec)
    model_type = spec.pop('model')
    if model_type == 'bigram':
        return BigramLanguageModel(spec['vocab_size'])
    if model_type == 'gpt':
        return GPT(GPTConfig(**spec))
    raise ValueError(f"unknown model type {model_type!r} in the checkpoint: expected 'bigram' or 'gpt'")


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


def load_checkpoint(path):
    """The checkpoint dict at `path` (tensors on the CPU); clear errors for anything else."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}; train a model first with "
                                f"`python -m gpt.train --out DIR` and pass DIR/{CHECKPOINT_NAME}")
    ckpt = mt.load(path)          # raises ValueError naming the file if it is not a minitensor file
    if not isinstance(ckpt, dict) or ckpt.get('kind') != KIND:
        raise ValueError(f"{path} is a minitensor file but not a gpt training checkpoint (no "
                         f"'kind': {KIND!r}); pass a ckpt.npz written by `python -m gpt.train`")
    if ckpt.get('version', 0) > VERSION:
        raise ValueError(f"{path} was written by a newer version of gpt (checkpoint version "
                         f"{ckpt['version']} > {VERSION}); upgrade minitensor to read it")
    return ckpt


def model_from_checkpoint(ckpt, device='cpu'):
    """(model on `device` with the checkpoint's weights, its CharTokenizer)."""
    tokenizer = CharTokenizer.from_string(ckpt['vocab'])
    if tokenizer.vocab_size != ckpt['model_spec']['vocab_size']:
        raise ValueError(f"the checkpoint's vocabulary has {tokenizer.vocab_size} characters but its "
                         f"model was built for {ckpt['model_spec']['vocab_size']}; the file is inconsistent")
    model = build_model(ckpt['model_spec'])
    model.load_state_dict(ckpt['model_state'])
    return model.to(device), tokenizer
