"""The lecture's language models ("Let's build GPT": bigram.py and gpt.py) on minitensor.

Module and parameter names are the lecture's, so a state dict moves between this GPT
and the lecture's PyTorch model (see benchmarks/torch_gpt.py). Classes go from small to
large: Head, MultiHeadAttention, FeedForward, Block, then the two models.
"""
from dataclasses import asdict, dataclass

import minitensor as mt
import minitensor.nn as nn
import minitensor.nn.functional as F


# 'default' is what reaches the lecture's val loss of 1.48 after 5000 steps of the lecture
# recipe; from N(0, 0.02) the same recipe learns faster, is best (1.48) near step 2500 and
# overfits to 1.56 by step 5000, in PyTorch as in minitensor (benchmarks/RESULTS.md).
INITS = ('default', 'normal')


@dataclass
class GPTConfig:
    vocab_size: int = 65       # distinct characters of the corpus (tiny shakespeare has 65)
    block_size: int = 256      # the longest context the model sees (positions it has embeddings for)
    n_embd: int = 384          # width of the residual stream
    n_head: int = 6            # attention heads per block; each is n_embd // n_head wide
    n_layer: int = 6           # transformer blocks
    dropout: float = 0.2       # on attention weights, head outputs and the MLP while training
    init: str = 'default'      # 'default': each layer's PyTorch init, as the lecture video's gpt.py;
                               # 'normal': N(0, 0.02) weights and zero biases (the lecture repo, nanoGPT)

    def __post_init__(self):
        for name in ('vocab_size', 'block_size', 'n_embd', 'n_head', 'n_layer'):
            if getattr(self, name) <= 0:
                raise ValueError(f"GPTConfig: {name} must be positive, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head "
                             f"({self.n_head}) so every head gets n_embd // n_head channels")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout}")
        if self.init not in INITS:
            raise ValueError(f"GPTConfig: init must be one of {', '.join(INITS)}, got {self.init!r}")

    def to_dict(self):
        return asdict(self)


def causal_attention(q, k, v, causal_mask, dropout_p, training):
    """softmax(q k^T / sqrt(hs), masked to the past) @ v, for (..., T, hs) q, k, v.

    The attention core in one place, so a fused GPU kernel can replace it.
    `causal_mask` is (T, T) bool, True where a query may NOT look (the future).
    """
    hs = k.shape[-1]
    if q.device == 'gpu' and mt.cuda.enabled:
        # the same math with scale, mask, softmax and dropout fused: one kernel each way
        wei = F.causal_softmax(q @ k.transpose(-2, -1), hs ** -0.5, dropout_p, training)  # (..., T, T)
        return wei @ v                                         # (..., T, hs)
    wei = q @ k.transpose(-2, -1) * hs ** -0.5                 # (..., T, T)
    wei = wei.masked_fill(causal_mask, float('-inf'))          # (..., T, T)
    wei = F.softmax(wei, dim=-1)                               # (..., T, T)
    wei = F.dropout(wei, dropout_p, training)                  # (..., T, T)
    return wei @ v                                             # (..., T, hs)


class Head(nn.Module):
    """One head of causal self-attention (the lecture's per-head version)."""

    def __init__(self, n_embd, head_size, block_size, dropout):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer('tril', mt.tril(mt.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)                                        # (B, T, hs)
        q = self.query(x)                                      # (B, T, hs)
        v = self.value(x)                                      # (B, T, hs)
        return causal_attention(q, k, v, self.tril[:T, :T] == 0, self.dropout.p, self.training)  # (B, T, hs)


class MultiHeadAttention(nn.Module):
    """n_head heads in parallel, concatenated and projected back to n_embd.

    The heads keep the lecture's separate key/query/value Linears (and names), but
    forward runs them as ONE matmul: their weights are concatenated into a single
    (3 * n_head * hs, n_embd) matrix each call (cat's backward hands every head its
    slice of the gradient), then attention runs on all heads as a batch.
    """

    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        head_size = n_embd // n_head
        self.heads = nn.ModuleList([Head(n_embd, head_size, block_size, dropout) for _ in range(n_head)])
        self.proj = nn.Linear(head_size * n_head, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        nh, hs = len(self.heads), self.heads[0].key.out_features
        w_qkv = mt.cat([h.query.weight for h in self.heads] + [h.key.weight for h in self.heads]
                       + [h.value.weight for h in self.heads], dim=0)                # (3*nh*hs, C)
        q, k, v = F.linear(x, w_qkv).split(nh * hs, dim=-1)                          # 3 x (B, T, nh*hs)
        q = q.view(B, T, nh, hs).transpose(1, 2)                                     # (B, nh, T, hs)
        k = k.view(B, T, nh, hs).transpose(1, 2)                                     # (B, nh, T, hs)
        v = v.view(B, T, nh, hs).transpose(1, 2)                                     # (B, nh, T, hs)
        head0 = self.heads[0]
        out = causal_attention(q, k, v, head0.tril[:T, :T] == 0, head0.dropout.p, self.training)  # (B, nh, T, hs)
        out = out.transpose(1, 2).reshape(B, T, nh * hs)                             # (B, T, nh*hs)
        return self.dropout(self.proj(out))                                          # (B, T, C)

    def forward_per_head(self, x):
        """The lecture's loop over heads; same result as forward (used by the tests)."""
        out = mt.cat([h(x) for h in self.heads], dim=-1)                             # (B, T, nh*hs)
        return self.dropout(self.proj(out))                                          # (B, T, C)


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

    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, block_size, dropout)
        self.ffwd = FeedForward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))                           # (B, T, C)
        x = x + self.ffwd(self.ln2(x))                         # (B, T, C)
        return x


class LanguageModel(nn.Module):
    """What both models share: the loss and autoregressive sampling."""

    block_size = None          # context the model can see; None: any length

    @staticmethod
    def _loss(logits, targets):
        B, T, C = logits.shape
        return F.cross_entropy(logits.view(B * T, C), targets.view(B * T))

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        """Extend idx (B, T) by max_new_tokens sampled tokens -> (B, T + max_new_tokens).

        Runs in eval mode under no_grad and restores the previous mode afterwards.
        """
        if temperature <= 0:
            raise ValueError(f"generate: temperature must be positive, got {temperature}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"generate: top_k must be at least 1 (or None for no limit), got {top_k}")
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(f"generate: idx must be a non-empty (B, T) tensor of token ids, got shape "
                             f"{idx.shape}")
        was_training = self.training
        self.eval()
        try:
            with mt.no_grad():
                for _ in range(max_new_tokens):
                    idx_cond = idx if self.block_size is None else idx[:, -self.block_size:]   # (B, <=T)
                    logits, _ = self(idx_cond)                          # (B, T, C)
                    logits = logits[:, -1, :] / temperature             # (B, C)
                    if top_k is not None:
                        logits = keep_top_k(logits, top_k)              # (B, C)
                    probs = F.softmax(logits, dim=-1)                   # (B, C)
                    if not bool(probs.isfinite().all()):
                        raise RuntimeError("generate: the next-token probabilities contain NaN or inf; "
                                           "the model's weights have diverged (check the training loss) "
                                           "or the temperature is too small")
                    idx_next = mt.multinomial(probs, num_samples=1)     # (B, 1)
                    idx = mt.cat((idx, idx_next), dim=1)                # (B, T+1)
        finally:
            self.train(was_training)
        return idx


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
        self.blocks = nn.Sequential(*[Block(c.n_embd, c.n_head, c.block_size, c.dropout)
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

    def forward(self, idx, targets=None):
        B, T = idx.shape
        if T > self.block_size:
            raise ValueError(f"GPT: the sequence has {T} tokens but block_size is {self.block_size}; "
                             f"crop the context to the last {self.block_size} tokens")
        tok_emb = self.token_embedding_table(idx)                                         # (B, T, C)
        pos_emb = self.position_embedding_table(mt.arange(T, device=idx.device))          # (T, C)
        x = tok_emb + pos_emb                                                             # (B, T, C)
        x = self.blocks(x)                                                                # (B, T, C)
        x = self.ln_f(x)                                                                  # (B, T, C)
        logits = self.lm_head(x)                                                          # (B, T, vocab)
        loss = None if targets is None else self._loss(logits, targets)
        return logits, loss
