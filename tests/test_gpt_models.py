"""gpt.models: the lecture's names and size, batched attention = per-head, overfitting, generate."""
import numpy as np
import pytest

import minitensor as mt
from gpt.models import GPT, BigramLanguageModel, GPTConfig, causal_attention, keep_top_k

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
    with pytest.raises(ValueError, match="n_layer must be positive"):
        GPTConfig(n_layer=0)


def test_batched_heads_equal_the_lectures_per_head_attention():
    mt.manual_seed(1)
    config = GPTConfig(vocab_size=11, block_size=8, n_embd=12, n_head=3, n_layer=1, dropout=0.0)
    mha = GPT(config).double().blocks[0].sa
    x = mt.randn(2, 6, 12, dtype=mt.float64, requires_grad=True)           # T < block_size
    out = mha(x)
    out.sum().backward()
    grads = {n: p.grad.numpy().copy() for n, p in mha.named_parameters()}
    x_grad = x.grad.numpy().copy()
    x.grad = None
    for p in mha.parameters():
        p.grad = None
    ref = mha.forward_per_head(x)
    ref.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x_grad, x.grad.numpy(), rtol=1e-12, atol=1e-14)
    for n, p in mha.named_parameters():        # each head's own key/query/value get their gradient
        np.testing.assert_allclose(grads[n], p.grad.numpy(), rtol=1e-12, atol=1e-14, err_msg=n)
        assert np.abs(grads[n]).sum() > 0, n


def test_attention_is_causal():
    mt.manual_seed(2)
    mha = GPT(TINY).blocks[0].sa
    x = mt.randn(1, 8, 16)
    y = x.numpy().copy()
    y[0, 5:] += 10.0                                            # change only the future of position 4
    a, b = mha(x).detach().numpy(), mha(mt.tensor(y)).detach().numpy()
    np.testing.assert_allclose(a[0, :5], b[0, :5], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[0, 5:], b[0, 5:])


def test_causal_attention_core_matches_its_definition():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 3, 5, 4)) for _ in range(3))
    mask = np.triu(np.ones((5, 5), bool), 1)
    out = causal_attention(mt.tensor(q), mt.tensor(k), mt.tensor(v), mt.tensor(mask), 0.0, False).numpy()
    scores = q @ k.swapaxes(-1, -2) / 2.0
    scores[..., mask] = -np.inf
    w = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(out, (w / w.sum(-1, keepdims=True)) @ v, rtol=1e-12)


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
    model = GPT(TINY)
    assert model(x, y)[1].item() == pytest.approx(np.log(11), abs=0.1)             # small init: uniform
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

    def forward(self, idx, targets=None):
        self.seen.append((idx.shape, self.training, mt.is_grad_enabled()))
        return super().forward(idx, targets)


def test_generate_crops_the_context_and_restores_training_mode():
    mt.manual_seed(4)
    model = RecordingGPT(TINY)
    model.seen = []
    idx = mt.randint(0, 11, (2, 3))
    out = model.generate(idx, 10)
    assert out.shape == (2, 13) and out.dtype == mt.int64
    assert out[:, :3].tolist() == idx.tolist()                     # the prompt is kept
    assert int(out.numpy().max()) < 11 and int(out.numpy().min()) >= 0
    assert [s[0] for s in model.seen] == [(2, t) for t in (3, 4, 5, 6, 7, 8, 8, 8, 8, 8)]
    assert all(not training and not grad for _, training, grad in model.seen)
    assert model.training                                          # mode restored
    model.eval()
    model.generate(idx, 1)
    assert not model.training


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
    with pytest.raises(ValueError, match="temperature must be positive"):
        model.generate(mt.zeros((1, 1), dtype=mt.int64), 2, temperature=0)
    with pytest.raises(ValueError, match="top_k must be at least 1"):
        model.generate(mt.zeros((1, 1), dtype=mt.int64), 2, top_k=0)


def test_bigram_generate_does_not_crop():
    model = BigramLanguageModel(5)
    out = model.generate(mt.zeros((3, 1), dtype=mt.int64), 20)
    assert out.shape == (3, 21)
