"""gpt.models: the lecture's names and size, batched attention = per-head, overfitting, generate, KV cache."""
import numpy as np
import pytest

import minitensor as mt
from gpt.models import GPT, BigramLanguageModel, GPTConfig, keep_top_k

TINY = GPTConfig(vocab_size=11, block_size=8, n_embd=16, n_head=4, n_layer=2, dropout=0.0)


def test_lecture_preset_has_exactly_the_lectures_parameter_count():
    model = GPT(GPTConfig(vocab_size=65, block_size=256, n_embd=384, n_head=6, n_layer=6, dropout=0.2))
    assert model.num_parameters() == 10_788_929


def test_module_and_parameter_names_are_the_lectures():
    names = set(GPT(TINY).state_dict())
    expected = {
        'token_embedding_table.weight', 'position_embedding_table.weight',
        'blocks.0.sa.heads.0.key.weight', 'blocks.0.sa.heads.0.query.weight',
        'blocks.0.sa.heads.0.value.weight', 'blocks.0.sa.heads.0.tril',
        'blocks.1.sa.heads.3.value.weight', 'blocks.0.sa.proj.weight', 'blocks.0.sa.proj.bias',
        'blocks.0.ffwd.net.0.weight', 'blocks.0.ffwd.net.0.bias', 'blocks.0.ffwd.net.2.weight',
        'blocks.0.ln1.weight', 'blocks.0.ln2.bias', 'ln_f.weight', 'ln_f.bias',
        'lm_head.weight', 'lm_head.bias',
    }
    assert expected <= names
    assert not any('blocks.2' in n for n in names)
    assert GPT(TINY).blocks[0].sa.heads[0].key.bias is None


def test_default_init_is_pytorchs_per_layer_init():
    mt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, block_size=64, n_embd=128, n_head=4, n_layer=2))
    w = model.blocks[0].ffwd.net[0].weight.detach().numpy()          # (512, 128): U(-1/sqrt(128), +)
    assert abs(w.std() - (1 / 128 ** 0.5) / 3 ** 0.5) < 0.002 and abs(w.max()) <= 1 / 128 ** 0.5
    assert abs(model.token_embedding_table.weight.detach().numpy().std() - 1.0) < 0.02   # N(0, 1)
    assert model.lm_head.bias.detach().numpy().any()                   # uniform, not zero
    assert (model.ln_f.weight.detach().numpy() == 1).all()


def test_normal_init_is_the_lecture_repos():
    mt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, block_size=64, n_embd=128, n_head=4, n_layer=2, init='normal'))
    w = model.blocks[0].ffwd.net[0].weight.detach().numpy()
    assert abs(w.std() - 0.02) < 0.001 and abs(w.mean()) < 0.001
    assert abs(model.token_embedding_table.weight.detach().numpy().std() - 0.02) < 0.002
    assert not model.lm_head.bias.detach().numpy().any() and not model.blocks[1].sa.proj.bias.detach().numpy().any()
    assert (model.ln_f.weight.detach().numpy() == 1).all()


def test_config_validation():
    with pytest.raises(ValueError, match="n_embd .* must be divisible by n_head"):
        GPTConfig(n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="init must be one of default, normal, got 'xavier'"):
        GPTConfig(init='xavier')
    with pytest.raises(ValueError, match="n_layer must be a positive integer, got 0"):
        GPTConfig(n_layer=0)
    with pytest.raises(ValueError, match="n_embd must be a positive integer, got '64'"):
        GPTConfig(n_embd='64')                                   # a crafted checkpoint's wrong type
    with pytest.raises(ValueError, match="block_size must be a positive integer, got True"):
        GPTConfig(block_size=True)
    with pytest.raises(ValueError, match="dropout must be a number in \\[0, 1\\), got nan"):
        GPTConfig(dropout=float('nan'))
    with pytest.raises(ValueError, match="attention must be one of batched, per_head, got 'flash'"):
        GPTConfig(attention='flash')


def test_batched_heads_equal_the_lectures_per_head_attention():
    mt.manual_seed(1)
    config = GPTConfig(vocab_size=11, block_size=8, n_embd=12, n_head=3, n_layer=1, dropout=0.0)
    mha = GPT(config).double().blocks[0].sa
    assert mha.attention == 'batched'
    x = mt.randn(2, 6, 12, dtype=mt.float64, requires_grad=True)           # T < block_size
    out = mha(x)
    out.sum().backward()
    grads = {n: p.grad.numpy().copy() for n, p in mha.named_parameters()}
    x_grad = x.grad.numpy().copy()
    x.grad = None
    for p in mha.parameters():
        p.grad = None
    mha.attention = 'per_head'
    ref = mha(x)
    ref.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x_grad, x.grad.numpy(), rtol=1e-12, atol=1e-14)
    for n, p in mha.named_parameters():        # each head's own key/query/value get their gradient
        np.testing.assert_allclose(grads[n], p.grad.numpy(), rtol=1e-12, atol=1e-14, err_msg=n)
        assert np.abs(grads[n]).sum() > 0, n


def test_per_head_attention_runs_the_lectures_head_forward(monkeypatch):
    # a learner's edit to Head.forward is what trains with attention='per_head', and only then
    from gpt import models
    calls = []
    original = models.Head.forward

    def edited(self, x):
        calls.append(x.shape)
        return 2 * original(self, x)
    monkeypatch.setattr(models.Head, 'forward', edited)
    mt.manual_seed(6)
    x, y = mt.randint(0, 11, (2, 5)), mt.randint(0, 11, (2, 5))
    per_head = GPT(GPTConfig(**{**TINY.to_dict(), 'attention': 'per_head'}))
    batched = GPT(TINY)
    batched.load_state_dict(per_head.state_dict())
    _, loss = per_head(x, y)
    loss.backward()
    assert len(calls) == TINY.n_layer * TINY.n_head                 # every head, every block
    assert all(p.grad is not None for p in per_head.parameters())
    calls.clear()
    _, batched_loss = batched(x, y)
    assert calls == [] and batched_loss.item() != pytest.approx(loss.item())


def test_batched_attention_takes_no_setting_from_head_0_alone():
    mha = GPT(GPTConfig(**{**TINY.to_dict(), 'dropout': 0.1})).blocks[0].sa
    assert mha.head_dropout_p() == 0.1
    mha.heads[2].dropout.p = 0.5                                     # one head changed by hand
    with pytest.raises(ValueError, match=r"different dropout p \(\[0.1, 0.5\]\).*attention='per_head'"):
        mha(mt.randn(1, 4, 16))
    mha.attention = 'per_head'
    assert mha(mt.randn(1, 4, 16)).shape == (1, 4, 16)               # each head with its own p


def test_attention_is_causal():
    mt.manual_seed(2)
    mha = GPT(TINY).blocks[0].sa
    x = mt.randn(1, 8, 16)
    y = x.numpy().copy()
    y[0, 5:] += 10.0                                            # change only the future of position 4
    a, b = mha(x).detach().numpy(), mha(mt.tensor(y)).detach().numpy()
    np.testing.assert_allclose(a[0, :5], b[0, :5], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[0, 5:], b[0, 5:])


def overfit(model, x, y, steps, lr):
    opt = mt.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    for _ in range(steps):
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return loss.item()


def test_bigram_overfits_a_deterministic_batch():
    # every character has exactly one successor here, so a bigram table can reach zero loss
    mt.manual_seed(0)
    seq = np.arange(40) % 7
    x = mt.tensor(np.stack([np.roll(seq, -i)[:16] for i in range(4)]))               # (4, 16)
    y = mt.tensor(np.stack([np.roll(seq, -i)[1:17] for i in range(4)]))
    model = BigramLanguageModel(7)
    first = model(x, y)[1].item()
    assert first > 1.0
    assert overfit(model, x, y, steps=200, lr=0.1) < 0.01


def test_gpt_overfits_one_fixed_batch():
    mt.manual_seed(0)
    x = mt.randint(0, 11, (4, 8))
    y = mt.randint(0, 11, (4, 8))                                                    # random: memorised
    model = GPT(GPTConfig(**{**TINY.__dict__, 'init': 'normal'}))   # N(0, 0.02): near-uniform predictions
    assert model(x, y)[1].item() == pytest.approx(np.log(11), abs=0.1)
    assert overfit(model, x, y, steps=150, lr=1e-2) < 0.05


def test_forward_shapes_and_loss_matches_cross_entropy_definition():
    mt.manual_seed(3)
    model = GPT(TINY)
    x, y = mt.randint(0, 11, (3, 5)), mt.randint(0, 11, (3, 5))
    logits, loss = model(x, y)
    assert logits.shape == (3, 5, 11)
    assert model(x)[1] is None
    z = logits.detach().numpy().reshape(15, 11).astype(np.float64)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    assert loss.item() == pytest.approx(-logp[np.arange(15), y.numpy().reshape(15)].mean(), rel=1e-5)


def test_forward_refuses_a_sequence_longer_than_block_size():
    with pytest.raises(ValueError, match="9 tokens but block_size is 8"):
        GPT(TINY)(mt.zeros((1, 9), dtype=mt.int64))


class RecordingGPT(GPT):
    """Records the context length of every forward call."""

    def forward(self, idx, targets=None, kv_cache=None):
        self.seen.append((idx.shape, self.training, mt.is_grad_enabled()))
        return super().forward(idx, targets, kv_cache)


def test_generate_crops_the_context_and_restores_training_mode():
    mt.manual_seed(4)
    model = RecordingGPT(TINY)
    model.seen = []
    idx = mt.randint(0, 11, (2, 3))
    out = model.generate(idx, 10, use_cache=False)
    assert out.shape == (2, 13) and out.dtype == mt.int64
    assert out[:, :3].tolist() == idx.tolist()                     # the prompt is kept
    assert int(out.numpy().max()) < 11 and int(out.numpy().min()) >= 0
    assert [s[0] for s in model.seen] == [(2, t) for t in (3, 4, 5, 6, 7, 8, 8, 8, 8, 8)]
    assert all(not training and not grad for _, training, grad in model.seen)
    assert model.training                                          # mode restored
    model.eval()
    model.generate(idx, 1)
    assert not model.training
    model.seen = []
    model.generate(idx, 10)                                        # cached: the newest token only
    assert [s[0] for s in model.seen] == [(2, 3)] + [(2, 1)] * 5 + [(2, 8)] * 4


def test_generate_is_reproducible_and_top_k_1_is_greedy():
    model = GPT(TINY)
    idx = mt.zeros((1, 1), dtype=mt.int64)
    mt.manual_seed(5)
    a = model.generate(idx, 6).tolist()
    mt.manual_seed(5)
    assert model.generate(idx, 6).tolist() == a
    greedy = model.generate(idx, 6, top_k=1).tolist()[0]
    ctx = [0]
    for _ in range(6):                                            # argmax, step by step
        logits, _ = model(mt.tensor([ctx[-8:]]))
        ctx.append(int(logits.detach().numpy()[0, -1].argmax()))
    assert greedy == ctx


def test_keep_top_k_keeps_the_k_largest():
    logits = mt.tensor([[0.1, 3.0, -1.0, 2.0, 2.5], [5.0, 4.0, 3.0, 2.0, 1.0]])
    kept = keep_top_k(logits, 2).numpy()
    assert np.isfinite(kept).tolist() == [[False, True, False, False, True], [True, True, False, False, False]]
    assert np.isfinite(keep_top_k(logits, 99).numpy()).all()


def test_generate_refuses_non_finite_probabilities_and_bad_arguments():
    model = GPT(TINY)
    model.lm_head.bias.array[0] = np.nan
    with pytest.raises(RuntimeError, match="probabilities contain NaN or inf"):
        model.generate(mt.zeros((1, 1), dtype=mt.int64), 2)
    assert model.training
    for temperature in (0, -1.0, float('nan'), float('inf')):
        with pytest.raises(ValueError, match="temperature must be a positive finite number"):
            model.generate(mt.zeros((1, 1), dtype=mt.int64), 2, temperature=temperature)
    with pytest.raises(ValueError, match="top_k must be at least 1"):
        model.generate(mt.zeros((1, 1), dtype=mt.int64), 2, top_k=0)


def test_bigram_generate_does_not_crop():
    model = BigramLanguageModel(5)
    out = model.generate(mt.zeros((3, 1), dtype=mt.int64), 20)
    assert out.shape == (3, 21)


@pytest.mark.parametrize('dtype', [mt.float32, mt.float64])
def test_cached_sampling_gives_the_uncached_tokens_also_past_block_size(dtype):
    # 30 new tokens from a 3-token prompt with block_size 8: the window fills, then slides
    mt.manual_seed(7)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_embd=16, n_head=4, n_layer=2, dropout=0.1))
    model = model.double() if dtype == mt.float64 else model
    for name, p in model.named_parameters():       # sharper logits than the init's: sampling is not uniform
        p.data = p.data * 3
    idx = mt.randint(0, 11, (3, 3))
    runs = {}
    for use_cache in (True, False):
        mt.manual_seed(11)
        runs[use_cache] = model.generate(idx, 30, temperature=0.8, top_k=6, use_cache=use_cache).tolist()
    assert runs[True] == runs[False]
    assert len({tuple(r) for r in runs[True]}) == 3                  # the rows differ: a real test


def test_cached_logits_equal_the_full_forward():
    mt.manual_seed(8)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_embd=16, n_head=4, n_layer=2, dropout=0.0)).double().eval()
    idx = mt.randint(0, 11, (2, 8))
    full, _ = model(idx)                                             # (2, 8, 11)
    cache = model.new_kv_cache()
    with mt.no_grad():
        steps = [model(idx[:, :3], kv_cache=cache)[0]] + [model(idx[:, t:t + 1], kv_cache=cache)[0]
                                                          for t in range(3, 8)]
    cached = mt.cat(steps, dim=1)
    np.testing.assert_allclose(cached.numpy(), full.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert cache[0].length == 8 and cache[1].k.shape == (2, 4, 8, 4)
    with pytest.raises(ValueError, match="9 tokens but block_size is 8"):
        model(idx[:, :1], kv_cache=cache)


def test_per_head_models_sample_without_a_cache():
    model = GPT(GPTConfig(**{**TINY.to_dict(), 'attention': 'per_head'}))
    assert model.new_kv_cache() is None
    mt.manual_seed(9)
    a = model.generate(mt.zeros((1, 1), dtype=mt.int64), 12).tolist()
    mt.manual_seed(9)
    assert model.generate(mt.zeros((1, 1), dtype=mt.int64), 12, use_cache=False).tolist() == a


def test_generate_tokens_yields_each_step_and_restores_the_mode_when_closed():
    model = GPT(TINY)
    steps = model.generate_tokens(mt.zeros((2, 1), dtype=mt.int64), 5)
    first = next(steps)
    assert first.shape == (2, 1) and not model.training and mt.is_grad_enabled()   # no no_grad leak
    steps.close()
    assert model.training
    assert model.generate(mt.zeros((2, 1), dtype=mt.int64), 0).shape == (2, 1)
