"""gpt.models.GPT against the lecture's PyTorch model (benchmarks/torch_gpt.py), in float64.

Same state dict -> same logits, loss and parameter gradients, for the lecture's per-head
attention and for the scaled_dot_product_attention variant.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import minitensor as mt
from gpt.models import GPT, GPTConfig

torch = pytest.importorskip('torch')

spec = importlib.util.spec_from_file_location(
    'torch_gpt', Path(__file__).resolve().parents[1] / 'benchmarks' / 'torch_gpt.py')
torch_gpt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torch_gpt)

CONFIG = GPTConfig(vocab_size=13, block_size=16, n_embd=24, n_head=3, n_layer=2, dropout=0.2)


def test_the_torch_twin_is_the_lecture_model():
    model = torch_gpt.build_torch_gpt()
    assert sum(p.numel() for p in model.parameters()) == 10_788_929
    ours = GPT(GPTConfig(vocab_size=65))
    assert list(model.state_dict()) == list(ours.state_dict())      # same names, same order


@pytest.mark.parametrize('attention', ['per_head', 'sdpa'])
def test_same_weights_give_same_logits_loss_and_gradients(attention):
    mt.manual_seed(0)
    ours = GPT(CONFIG).double().eval()                 # eval: dropout off in both
    theirs = torch_gpt.build_torch_gpt(**{k: v for k, v in CONFIG.to_dict().items()},
                                       attention=attention).double().eval()
    theirs.load_state_dict(torch_gpt.state_dict_from_minitensor(ours))
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
