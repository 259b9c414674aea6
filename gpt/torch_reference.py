"""The lecture's GPT in PyTorch: the reference twin of gpt.models.GPT.

`build_torch_gpt(config)` returns, for a gpt.models.GPTConfig, the lecture's gpt.py
model: with attention='per_head' its loop over heads, with 'batched' the same model
whose heads run as one batch through F.scaled_dot_product_attention (as gpt.models
does). It has the lecture's parameter and buffer names, exactly as gpt.models.GPT, so
state dicts move between them (tests compare logits, loss and gradients; benchmarks
compare speed and loss curves). Nothing in gpt imports this module: PyTorch is needed
only where it is imported (tests skip without it); it imports no minitensor itself.
"""
try:
    import torch
    import torch.nn as nn
    from torch.nn import functional as F
except ImportError as e:
    raise ImportError(f"gpt.torch_reference is the PyTorch twin of the GPT and needs PyTorch "
                      f"(pip install torch): {e}") from None

# gpt.models.ATTENTIONS (a test keeps the two equal), not imported from there: this module
# works without minitensor, so benchmarks/speedrun_torch.py's start-up is PyTorch's own
ATTENTIONS = ('batched', 'per_head')


class Head(nn.Module):
    """One head of self-attention (the lecture's code)."""

    def __init__(self, n_embd, head_size, block_size, dropout):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size)))
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


class MultiHeadAttention(nn.Module):
    """The lecture's heads in parallel; attention='batched' runs them through one SDPA call."""

    def __init__(self, n_embd, n_head, block_size, dropout, attention='per_head'):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}, got {attention!r}")
        head_size = n_embd // n_head
        self.heads = nn.ModuleList([Head(n_embd, head_size, block_size, dropout) for _ in range(n_head)])
        self.proj = nn.Linear(head_size * n_head, n_embd)
        self.dropout = nn.Dropout(dropout)
        self.attention = attention

    def forward(self, x):
        if self.attention == 'per_head':
            out = torch.cat([h(x) for h in self.heads], dim=-1)       # (B, T, nh*hs)
        else:
            out = self._batched(x)
        return self.dropout(self.proj(out))                            # (B, T, C)

    def _batched(self, x):
        B, T, C = x.shape
        nh, hs = len(self.heads), self.heads[0].key.out_features
        w = torch.cat([h.query.weight for h in self.heads] + [h.key.weight for h in self.heads]
                      + [h.value.weight for h in self.heads], dim=0)  # (3*nh*hs, C)
        q, k, v = F.linear(x, w).split(nh * hs, dim=-1)                # 3 x (B, T, nh*hs)
        q, k, v = (t.view(B, T, nh, hs).transpose(1, 2) for t in (q, k, v))   # (B, nh, T, hs)
        p = self.heads[0].dropout.p if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)  # (B, nh, T, hs)
        return out.transpose(1, 2).reshape(B, T, nh * hs)              # (B, T, nh*hs)


class FeedFoward(nn.Module):
    def __init__(self, n_embd, dropout):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(),
                                 nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout, attention):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, block_size, dropout, attention)
        self.ffwd = FeedFoward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        return x


class GPTLanguageModel(nn.Module):
    def __init__(self, vocab_size, block_size, n_embd, n_head, n_layer, dropout, attention='per_head',
                 init='default'):
        super().__init__()
        self.block_size = block_size
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout, attention)
                                      for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)
        if init == 'normal':       # the lecture repo's gpt.py; its video version kept torch's defaults
            self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        tok_emb = self.token_embedding_table(idx)                                   # (B, T, C)
        pos_emb = self.position_embedding_table(torch.arange(T, device=idx.device))  # (T, C)
        x = self.blocks(tok_emb + pos_emb)                                          # (B, T, C)
        logits = self.lm_head(self.ln_f(x))                                         # (B, T, vocab)
        if targets is None:
            return logits, None
        B, T, C = logits.shape
        return logits, F.cross_entropy(logits.view(B * T, C), targets.view(B * T))


def build_torch_gpt(config=None):
    """The twin of gpt.models.GPT(config) (default: the lecture's GPT, 10,788,929 parameters).

    config.init 'default' keeps each module's PyTorch init, 'normal' draws N(0, 0.02)
    weights and zero biases; config.attention picks the per-head loop or batched SDPA.
    """
    if config is None:
        from .models import GPTConfig
        config = GPTConfig()
    c = config
    return GPTLanguageModel(c.vocab_size, c.block_size, c.n_embd, c.n_head, c.n_layer, c.dropout, c.attention,
                            c.init)


def state_dict_from_minitensor(model, dtype=None, device='cpu'):
    """A minitensor model's state dict as torch tensors (same names; floats as `dtype` if given)."""
    return {k: torch.tensor(v.numpy(), dtype=dtype if v.dtype.kind == 'f' else None, device=device)
            for k, v in model.state_dict().items()}


def copy_weights(ours, theirs):
    """Load minitensor model `ours`'s weights into its torch twin `theirs` (keeping theirs' dtype and device)."""
    dtype = next(theirs.parameters()).dtype
    device = next(theirs.parameters()).device
    theirs.load_state_dict(state_dict_from_minitensor(ours, dtype, device))
    return theirs
