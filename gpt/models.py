"""The lecture's language models ("Let's build GPT": bigram.py and gpt.py) on minitensor.

Module and parameter names are the lecture's, so a state dict moves between this GPT
and the lecture's PyTorch model (gpt/torch_reference.py). Classes go from small to
large: GPTConfig, Head, MultiHeadAttention, FeedForward, Block, then the two models.
"""
import math
from dataclasses import asdict, dataclass

import minitensor as mt
import minitensor.nn as nn
import minitensor.nn.functional as F

from .errors import ConfigError
from .settings import setting

# 'default' is what reaches the lecture's val loss of 1.48 after 5000 steps of the lecture
# recipe; from N(0, 0.02) the same recipe learns faster, is best (1.48) near step 2500 and
# overfits to 1.56 by step 5000, in PyTorch as in minitensor (benchmarks/RESULTS.md).
INITS = ('default', 'normal')
ATTENTIONS = ('batched', 'per_head')


@dataclass
class GPTConfig:
    """The GPT's shape and options; the one place they are checked."""
    vocab_size: int = setting(65, "distinct characters of the corpus (tiny shakespeare has 65)")
    block_size: int = setting(256, "context length in characters (the positions the model has embeddings for)")
    n_embd: int = setting(384, "GPT width: channels of the residual stream")
    n_head: int = setting(6, "attention heads per block; each is n_embd // n_head wide (must divide --n-embd)")
    n_layer: int = setting(6, "transformer blocks")
    dropout: float = setting(0.2, "dropout probability on attention weights, head outputs and the MLP "
                                  "while training")
    init: str = setting('default', "weight init: 'default' is each layer's PyTorch init (the lecture "
                                   "video's gpt.py), 'normal' N(0, 0.02) weights and zero biases (the "
                                   "lecture repo, nanoGPT)", choices=INITS)
    attention: str = setting('batched', "'batched': all heads as one batch through "
                                        "F.scaled_dot_product_attention (fast); 'per_head': the lecture's "
                                        "loop over Head.forward (edit it and train your edit)",
                             choices=ATTENTIONS)

    def __post_init__(self):
        for name in ('vocab_size', 'block_size', 'n_embd', 'n_head', 'n_layer'):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:       # bool, float, str: refused too
                raise ConfigError(f"{name} must be a positive integer, got {value!r}", name)
        if self.n_embd % self.n_head:
            raise ConfigError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}) so every "
                              f"head gets n_embd // n_head channels", 'n_embd', 'n_head')
        if type(self.dropout) not in (int, float) or not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be a number in [0, 1), got {self.dropout!r}", 'dropout')
        for name, allowed in (('init', INITS), ('attention', ATTENTIONS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}",
                                  name)

    def to_dict(self):
        return asdict(self)


class Head(nn.Module):
    """One head of causal self-attention: the lecture's code, run when attention='per_head'.

    With the default attention='batched', MultiHeadAttention does not call this forward:
    it runs every head's key/query/value weights as one matmul and all heads through one
    F.scaled_dot_product_attention(is_causal=True) call (same math; the engine fuses it on
    the GPU). Train with --attention per_head to run an edit made here.
    """

    def __init__(self, n_embd, head_size, block_size, dropout):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer('tril', mt.tril(mt.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)                                                # (B, T, hs)
        q = self.query(x)                                              # (B, T, hs)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5            # (B, T, T)
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf'))  # (B, T, T)
        wei = F.softmax(wei, dim=-1)                                   # (B, T, T)
        wei = self.dropout(wei)
        v = self.value(x)                                              # (B, T, hs)
        return wei @ v                                                 # (B, T, hs)


class KVCache:
    """The keys and values one attention layer computed for the tokens so far (for sampling)."""

    def __init__(self):
        self.clear()

    def clear(self):
        self.k = self.v = None                                         # (B, nh, T, hs) each

    @property
    def length(self):
        return 0 if self.k is None else self.k.shape[-2]

    def append(self, k, v):
        """Add the new tokens' (B, nh, t, hs) keys and values; returns all of them."""
        self.k = k if self.k is None else mt.cat([self.k, k], dim=-2)   # (B, nh, T, hs)
        self.v = v if self.v is None else mt.cat([self.v, v], dim=-2)   # (B, nh, T, hs)
        return self.k, self.v


class MultiHeadAttention(nn.Module):
    """n_head heads in parallel, concatenated and projected back to n_embd.

    attention='per_head' is the lecture's loop over the Head modules. 'batched' (the
    default) keeps the heads' Linears (and names) but runs them as ONE matmul: their
    weights are concatenated into one (3 * n_head * hs, n_embd) matrix each call (cat's
    backward hands every head its slice of the gradient), then all heads go through
    F.scaled_dot_product_attention as one batch.
    """

    def __init__(self, n_embd, n_head, block_size, dropout, attention='batched'):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"MultiHeadAttention: attention must be one of {', '.join(ATTENTIONS)}, "
                             f"got {attention!r}")
        head_size = n_embd // n_head
        self.heads = nn.ModuleList([Head(n_embd, head_size, block_size, dropout) for _ in range(n_head)])
        self.proj = nn.Linear(head_size * n_head, n_embd)
        self.dropout = nn.Dropout(dropout)
        self.attention = attention

    def forward(self, x, kv_cache=None):
        if self.attention == 'per_head':
            if kv_cache is not None:
                raise ValueError("MultiHeadAttention: the per-head (lecture) path keeps no KV cache; "
                                 "sample with use_cache=False")
            out = self.forward_lecture(x)                                            # (B, T, nh*hs)
        else:
            out = self.forward_batched(x, kv_cache)                                  # (B, T, nh*hs)
        return self.dropout(self.proj(out))                                          # (B, T, C)

    def forward_lecture(self, x):
        """The lecture's loop: every Head.forward, concatenated -> (B, T, nh*hs)."""
        return mt.cat([h(x) for h in self.heads], dim=-1)                           # (B, T, nh*hs)

    def forward_batched(self, x, kv_cache=None):
        """All heads at once -> (B, T, nh*hs); with a kv_cache, x holds only the new tokens."""
        B, T, C = x.shape
        nh, hs = len(self.heads), self.heads[0].key.out_features
        w_qkv = mt.cat([h.query.weight for h in self.heads] + [h.key.weight for h in self.heads]
                       + [h.value.weight for h in self.heads], dim=0)                # (3*nh*hs, C)
        q, k, v = F.linear(x, w_qkv).split(nh * hs, dim=-1)                          # 3 x (B, T, nh*hs)
        q = q.view(B, T, nh, hs).transpose(1, 2)                                     # (B, nh, T, hs)
        k = k.view(B, T, nh, hs).transpose(1, 2)                                     # (B, nh, T, hs)
        v = v.view(B, T, nh, hs).transpose(1, 2)                                     # (B, nh, T, hs)
        past = 0
        if kv_cache is not None:
            past = kv_cache.length
            if past and T != 1:
                raise ValueError(f"MultiHeadAttention: a filled KV cache takes one new token at a time, "
                                 f"got {T}")
            k, v = kv_cache.append(k, v)                                             # (B, nh, past+T, hs)
        # one new token after a filled cache attends to every key: no mask (is_causal would
        # align the mask to the top-left corner, hiding all but the first key)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.head_dropout_p() if self.training else 0.0,
                                             is_causal=past == 0)                    # (B, nh, T, hs)
        return out.transpose(1, 2).reshape(B, T, nh * hs)                            # (B, T, nh*hs)

    def head_dropout_p(self):
        """The attention-weight dropout p, which the batched path applies to every head alike."""
        ps = sorted({h.dropout.p for h in self.heads})
        if len(ps) > 1:
            raise ValueError(f"MultiHeadAttention: the heads have different dropout p ({ps}) but the batched "
                             f"path applies one p to all heads; use attention='per_head' to run each Head "
                             f"with its own")
        return ps[0]


class FeedForward(nn.Module):
    """A position-wise MLP: widen 4x, ReLU, project back."""

    def __init__(self, n_embd, dropout):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd),
            nn.ReLU(),
            nn.Linear(4 * n_embd, n_embd),
            nn.Dropout(dropout),
        )

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    """Transformer block, pre-norm: communication (attention) then computation (MLP)."""

    def __init__(self, n_embd, n_head, block_size, dropout, attention='batched'):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, block_size, dropout, attention)
        self.ffwd = FeedForward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x, kv_cache=None):
        x = x + self.sa(self.ln1(x), kv_cache)                 # (B, T, C)
        x = x + self.ffwd(self.ln2(x))                         # (B, T, C)
        return x


class LanguageModel(nn.Module):
    """What both models share: the loss and autoregressive sampling."""

    block_size = None          # context the model can see; None: any length

    @staticmethod
    def _loss(logits, targets):
        B, T, C = logits.shape
        return F.cross_entropy(logits.view(B * T, C), targets.view(B * T))

    def new_kv_cache(self):
        """Per-layer key/value caches for sampling, or None where the model keeps none."""
        return None

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, use_cache=True):
        """Extend idx (B, T) by max_new_tokens sampled tokens -> (B, T + max_new_tokens).

        Runs in eval mode under no_grad and restores the previous mode afterwards.
        use_cache=True keeps each layer's keys and values (see generate_tokens): the
        same tokens for the same seed as use_cache=False, which reruns the whole context.
        """
        new = list(self.generate_tokens(idx, max_new_tokens, temperature, top_k, use_cache))
        return mt.cat([idx, *new], dim=1) if new else idx          # (B, T + max_new_tokens)

    def generate_tokens(self, idx, max_new_tokens, temperature=1.0, top_k=None, use_cache=True):
        """An iterator over the (B, 1) tokens that generate appends, one per step.

        The model is in eval mode until the iterator is exhausted or closed. With
        use_cache, a step feeds only the newest token and reuses the keys and values of
        the others, as long as the context fits in block_size; once it is longer, the
        lecture crops it to the last block_size tokens, which shifts every position, so
        each step reruns the cropped context, exactly as without the cache.
        """
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"generate: temperature must be a positive finite number, got {temperature}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"generate: top_k must be at least 1 (or None for no limit), got {top_k}")
        if max_new_tokens < 0:
            raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(f"generate: idx must be a non-empty (B, T) tensor of token ids, got shape "
                             f"{idx.shape}")
        return self._sample(idx, max_new_tokens, temperature, top_k, use_cache)

    def _sample(self, idx, max_new_tokens, temperature, top_k, use_cache):
        was_training = self.training
        self.eval()
        try:
            cache = self.new_kv_cache() if use_cache else None
            for _ in range(max_new_tokens):
                with mt.no_grad():                      # not across the yield: the caller's mode is theirs
                    logits = self._next_logits(idx, cache) / temperature    # (B, C)
                    if top_k is not None:
                        logits = keep_top_k(logits, top_k)                  # (B, C)
                    probs = F.softmax(logits, dim=-1)                       # (B, C)
                    if not bool(probs.isfinite().all()):
                        raise RuntimeError("generate: the next-token probabilities contain NaN or inf; "
                                           "the model's weights have diverged (check the training loss) "
                                           "or the temperature is too small")
                    idx_next = mt.multinomial(probs, num_samples=1)         # (B, 1)
                    idx = mt.cat((idx, idx_next), dim=1)                    # (B, T+1)
                yield idx_next
        finally:
            self.train(was_training)

    def _next_logits(self, idx, cache):
        """The logits (B, C) of the token after idx (B, T), from its last block_size tokens."""
        T = idx.shape[1]
        if cache is not None and 0 < cache[0].length == T - 1 and T <= self.block_size:
            logits, _ = self(idx[:, -1:], kv_cache=cache)        # the newest token only: (B, 1, C)
            return logits[:, -1, :]
        if cache is not None:
            for layer in cache:
                layer.clear()                                   # the window moved: start over
        if self.block_size is not None and T > self.block_size:
            logits, _ = self(idx[:, -self.block_size:])          # positions shifted: no cache helps
        else:
            logits, _ = self(idx, kv_cache=cache) if cache is not None else self(idx)   # (B, T, C)
        return logits[:, -1, :]


def keep_top_k(logits, k):
    """Set every logit below the k-th largest of its row to -inf (ties with it are kept)."""
    k = min(k, logits.shape[-1])
    kth = logits.xp.partition(logits.array, -k, axis=-1)[:, -k:].min(axis=-1, keepdims=True)  # (B, 1)
    return logits.masked_fill(logits < mt.Tensor(kth), float('-inf'))                       # (B, C)


class BigramLanguageModel(LanguageModel):
    """Each token reads the logits for the next one straight from a table (bigram.py)."""

    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx, targets=None):
        logits = self.token_embedding_table(idx)               # (B, T, C)
        loss = None if targets is None else self._loss(logits, targets)
        return logits, loss


class GPT(LanguageModel):
    """The lecture's GPT (gpt.py's GPTLanguageModel): embeddings, n_layer blocks, head."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.block_size = config.block_size
        c = config
        self.token_embedding_table = nn.Embedding(c.vocab_size, c.n_embd)
        self.position_embedding_table = nn.Embedding(c.block_size, c.n_embd)
        self.blocks = nn.Sequential(*[Block(c.n_embd, c.n_head, c.block_size, c.dropout, c.attention)
                                      for _ in range(c.n_layer)])
        self.ln_f = nn.LayerNorm(c.n_embd)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size)
        if c.init == 'normal':
            for module in self.modules():
                self._init_normal(module)

    @staticmethod
    def _init_normal(module):
        # the lecture repo's init: N(0, 0.02) weights and zero biases, much smaller than torch's default
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def new_kv_cache(self):
        # the per-head path runs Head.forward as written (a learner's edit), which keeps no cache
        return None if self.config.attention == 'per_head' else [KVCache() for _ in self.blocks]

    def forward(self, idx, targets=None, kv_cache=None):
        """(logits, loss); with kv_cache (new_kv_cache()'s list), idx holds only the new tokens."""
        B, T = idx.shape
        past = 0 if kv_cache is None else kv_cache[0].length
        if past + T > self.block_size:
            raise ValueError(f"GPT: the sequence has {past + T} tokens but block_size is {self.block_size}; "
                             f"crop the context to the last {self.block_size} tokens")
        tok_emb = self.token_embedding_table(idx)                                         # (B, T, C)
        pos_emb = self.position_embedding_table(mt.arange(past, past + T, device=idx.device))  # (T, C)
        x = tok_emb + pos_emb                                                             # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, None if kv_cache is None else kv_cache[i])                       # (B, T, C)
        x = self.ln_f(x)                                                                  # (B, T, C)
        logits = self.lm_head(x)                                                          # (B, T, vocab)
        loss = None if targets is None else self._loss(logits, targets)
        return logits, loss
