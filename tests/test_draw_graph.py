"""mt.utils.draw_graph: the autograd graph behind a tensor as DOT text (and a picture
when graphviz is installed)."""
import re

import pytest

import minitensor as mt
import minitensor.nn as nn
from gpt.models import GPT, GPTConfig


def small_gpt(n_layer=4):
    mt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_embd=16, n_head=2, n_layer=n_layer, dropout=0.0))
    idx = mt.randint(0, 11, (2, 8))
    return model, model(idx, idx)[1]


def test_ops_and_leaves_with_shapes_and_names():
    w = mt.randn(3, 4, requires_grad=True)
    x = mt.randn(2, 3)
    y = (x @ w).relu().sum()
    dot = mt.utils.draw_graph(y, params={'w': w}).source
    assert dot.startswith('digraph')
    assert re.search(r'label="Sum\\n\(\) float32"', dot)          # the output op, its shape and dtype
    assert re.search(r'label="ReLU\\n\(2, 4\)', dot)
    assert re.search(r'label="MatMul\\n\(2, 4\)', dot)
    assert re.search(r'label="w\\n\(3, 4\) float32"', dot)          # the leaf under its name
    assert dot.count('->') == 3                                      # w->MatMul->ReLU->Sum
    assert 'x' not in re.findall(r'label="(\w+)', dot)               # constants are not drawn


def test_grads_are_shown_after_backward():
    w = mt.tensor([3.0, 4.0], requires_grad=True)
    y = (w * w).sum() / 2                                            # dy/dw = w, norm 5
    y.backward(retain_graph=True)
    assert 'grad norm 5' in mt.utils.draw_graph(y, params={'w': w}).source


def test_model_parameters_name_the_leaves():
    model, loss = small_gpt(n_layer=2)
    dot = mt.utils.draw_graph(loss, params=model).source
    for name, _ in model.named_parameters():
        assert f'label="{name}\\n' in dot, name


def test_repeated_blocks_collapse_into_one_box():
    model, loss = small_gpt(n_layer=5)
    full = mt.utils.draw_graph(loss, params=model, collapse=False)
    short = mt.utils.draw_graph(loss, params=model)
    assert 'blocks.1 ... blocks.3' in short.source and '3 blocks drawn as one' in short.source
    assert 'cluster_blocks_0' in short.source and 'cluster_blocks_4' in short.source
    assert 'blocks.2.ln1.weight' not in short.source and 'blocks.2.ln1.weight' in full.source
    assert short.source.count('[shape=box,') < full.source.count('[shape=box,') * 0.6
    assert full.n_ops == short.n_ops                                 # the same graph, drawn shorter


def test_max_depth_keeps_the_ops_near_the_output():
    model, loss = small_gpt(n_layer=2)
    dot = mt.utils.draw_graph(loss, params=model, collapse=False, max_depth=3).source
    assert re.search(r'\d+ more ops\\n\(deeper than max_depth=3\)', dot)
    assert dot.count('[shape=box,') == 4                             # depth 0..3
    with pytest.raises(ValueError, match='max_depth must be at least 1'):
        mt.utils.draw_graph(loss, max_depth=0)


def test_clear_errors():
    with pytest.raises(ValueError, match='no grad_fn'):
        mt.utils.draw_graph(mt.ones(3))
    w = mt.ones(3, requires_grad=True)
    y = (w * 2).sum()
    y.backward()
    assert 'Mul' in str(mt.utils.draw_graph(y))   # backward frees saved arrays, not the graph (as torch)


def test_render_without_graphviz_says_how_to_install(monkeypatch, tmp_path):
    import builtins
    real_import = builtins.__import__

    def no_graphviz(name, *args, **kwargs):
        if name == 'graphviz':
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, '__import__', no_graphviz)
    y = (mt.ones(2, requires_grad=True) * 3).sum()
    with pytest.raises(RuntimeError, match=r'pip install -e "\.\[graph\]"'):
        mt.utils.draw_graph(y).render(str(tmp_path / 'g.png'))
    with pytest.raises(ValueError, match='.svg, .png or .pdf'):
        mt.utils.draw_graph(y).render(str(tmp_path / 'g.gif'))


def test_render_png_and_svg(tmp_path):
    graphviz = pytest.importorskip('graphviz')
    try:
        graphviz.version()
    except graphviz.ExecutableNotFound:
        pytest.skip("the Graphviz program `dot` is not installed")
    model, loss = small_gpt(n_layer=3)
    graph = mt.utils.draw_graph(loss, params=model)
    png = graph.render(str(tmp_path / 'gpt.png'))
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    svg = graph.render(str(tmp_path / 'gpt.svg'))
    assert '<svg' in open(svg).read()


def test_a_module_graph_in_the_lecture_style():
    """The lecture's one-head attention: the picture names each Linear's weight."""
    mt.manual_seed(1)
    key, query = nn.Linear(8, 4, bias=False), nn.Linear(8, 4, bias=False)
    x = mt.randn(2, 5, 8)
    wei = (query(x) @ key(x).transpose(-2, -1)).softmax(-1)
    dot = mt.utils.draw_graph(wei.sum(), params={'key.weight': key.weight, 'query.weight': query.weight}).source
    assert 'key.weight' in dot and 'query.weight' in dot and 'Softmax' in dot
