"""gpt.models.GPT against the lecture's PyTorch model (gpt/torch_reference.py), in float64.

Same state dict -> same logits, loss and parameter gradients, for the lecture's per-head
attention and for the batched (scaled_dot_product_attention) variant, on both sides.
"""
from dataclasses import replace

import numpy as np
import pytest

import minitensor as mt
from gpt.models import GPT, GPTConfig

torch = pytest.importorskip('torch')
from gpt import torch_reference  # noqa: E402  (needs torch)

CONFIG = GPTConfig(vocab_size=13, block_size=16, n_embd=24, n_head=3, n_layer=2, dropout=0.2)


def test_the_torch_twin_is_the_lecture_model():
    model = torch_reference.build_torch_gpt()
    assert sum(p.numel() for p in model.parameters()) == 10_788_929
    ours = GPT(GPTConfig(vocab_size=65))
    assert list(model.state_dict()) == list(ours.state_dict())      # same names, same order


@pytest.mark.parametrize('ours_attention', ['batched', 'per_head'])
@pytest.mark.parametrize('attention', ['per_head', 'batched'])
def test_same_weights_give_same_logits_loss_and_gradients(attention, ours_attention):
    mt.manual_seed(0)
    ours = GPT(replace(CONFIG, attention=ours_attention)).double().eval()   # eval: dropout off in both
    theirs = torch_reference.build_torch_gpt(replace(CONFIG, attention=attention)).double().eval()
    torch_reference.copy_weights(ours, theirs)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 13, (3, 11))                 # T < block_size: the mask is cropped
    targets = rng.integers(0, 13, (3, 11))

    logits, loss = ours(mt.tensor(idx), mt.tensor(targets))
    loss.backward()
    t_logits, t_loss = theirs(torch.tensor(idx), torch.tensor(targets))
    t_loss.backward()

    np.testing.assert_allclose(logits.detach().numpy(), t_logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-12)
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_copy_weights_keeps_the_twins_dtype():
    mt.manual_seed(0)
    ours = GPT(CONFIG)
    theirs = torch_reference.copy_weights(ours, torch_reference.build_torch_gpt(CONFIG))
    w = theirs.state_dict()['lm_head.weight']
    assert w.dtype == torch.float32
    np.testing.assert_array_equal(w.numpy(), ours.lm_head.weight.detach().numpy())
