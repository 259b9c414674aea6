"""The written rules of Function (see its docstring), checked over a graph of many ops:
every array a backward keeps goes through save_for_backward (so version counters see
it and release() frees it); no other attribute of a node holds an array."""
import numpy as np

import minitensor as mt
import minitensor.nn.functional as F
from minitensor.autograd import Edge


def _holds_array(value):
    if hasattr(value, '__array_interface__') or hasattr(value, '__cuda_array_interface__'):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds_array(v) for v in value)
    return False


def _nodes(root):
    seen, stack, out = set(), [root.grad_fn], []
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        out.append(fn)
        stack.extend(t.grad_fn for t in fn.inputs if isinstance(t, Edge))
    return out


def test_no_node_keeps_an_array_outside_save_for_backward():
    g = np.random.default_rng(0)
    x = mt.tensor(g.normal(size=(4, 6)), requires_grad=True)
    w = mt.tensor(g.normal(size=(6, 5)), requires_grad=True)
    ln_w = mt.ones(5, requires_grad=True)
    ln_b = mt.zeros(5, requires_grad=True)
    emb = mt.tensor(g.normal(size=(10, 5)), requires_grad=True)
    h = x @ w                                                        # (4, 5)
    h = F.layer_norm(h, (5,), ln_w, ln_b)
    h = mt.where(h > 0, h, h * 0.1).masked_fill(h > 2, 0.0)
    h = h[mt.tensor([0, 2, 3])] + h[1:, :].sum(0) + emb[mt.tensor([[1, 2, 3]])].squeeze(0)
    a, b = h.split([2, 3], dim=1)
    h = mt.cat([b, a], dim=1) * mt.stack([h[0], h[1], h[2]]).softmax(-1)
    h = h.max(dim=1)[0].exp().sqrt() + h.var(0).sum() + h.abs().mean()
    loss = F.cross_entropy(x[:3, :5] * h[:, None], mt.tensor([0, 4, 2]))
    loss = loss + F.gelu(h).sum() + h.tanh().sigmoid().log().sum() + F.relu(h).pow(2).sum()
    nodes = _nodes(loss)
    assert len(nodes) > 30
    for fn in nodes:
        for name, value in vars(fn).items():
            if name in ('saved', 'saved_versions'):
                continue
            assert not _holds_array(value), f"{fn.name}.{name} holds an array outside save_for_backward"
    loss.backward()
    for fn in nodes:
        assert not fn.saved, f"{fn.name} kept its saved arrays after backward"


def test_the_gpt_graph_follows_the_rules():
    """The model that trains: after backward no node may hold an array (it would stay
    alive with the graph until the next step's forward)."""
    from gpt.models import GPT, GPTConfig
    mt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=16, dropout=0.1))
    idx = mt.randint(0, 20, (2, 8))
    _, loss = model(idx, idx)
    nodes = _nodes(loss)
    loss.backward()
    for fn in nodes:
        assert not fn.saved, f"{fn.name} kept its saved arrays after backward"
        for name, value in vars(fn).items():
            assert name in ('saved', 'saved_versions') or not _holds_array(value), \
                f"{fn.name}.{name} holds an array outside save_for_backward"


def test_multi_output_functions_declare_n_outputs():
    pieces = mt.ones(5, requires_grad=True).split(2)
    assert pieces[0].grad_fn.n_outputs == 3
    assert (mt.ones(2, requires_grad=True) * 2).grad_fn.n_outputs is None
