"""Pictures of the autograd graph: micrograd's draw_dot, at tensor scale.

`draw_graph(loss, params=model)` walks the graph behind a tensor (the Functions its
grad_fn reaches) and returns a `Graph`: one box per op with its output shape and dtype,
one ellipse per leaf that requires grad, named after the model's parameter when a model
(or a name -> tensor dict) is given, with its gradient's norm once backward has filled
it. `Graph.source` is Graphviz DOT text, always; `Graph.render(path)` writes SVG or PNG
through the optional `graphviz` package and its `dot` program.

A GPT repeats one block many times. With `collapse=True` the ops of the middle blocks
(`blocks.1` ... `blocks.4` of a 6-block model) are drawn as one box that says what it
stands for, so the first and last blocks and the model around them stay readable;
`max_depth=N` keeps only the N ops nearest the output.
"""
import math
import re
from collections import defaultdict, deque

_REPEATED = re.compile(r'^(.*?)\.(\d+)\.')     # 'blocks.3.sa.proj.weight' -> ('blocks', '3')


class Graph:
    """A drawn autograd graph: DOT text, and SVG/PNG through graphviz when installed."""

    def __init__(self, source, n_ops, n_leaves):
        self.source, self.n_ops, self.n_leaves = source, n_ops, n_leaves

    def __str__(self):
        return self.source

    def __repr__(self):
        return f"<Graph: {self.n_ops} ops, {self.n_leaves} leaves; .source is DOT, .render(path) draws it>"

    def render(self, path, format=None):
        """Write the picture to `path` ('.svg' or '.png', or format=); returns the path."""
        fmt = format or path.rsplit('.', 1)[-1].lower()
        if fmt not in ('svg', 'png', 'pdf'):
            raise ValueError(f"draw_graph: render to .svg, .png or .pdf, got {path!r}")
        try:
            import graphviz
        except ImportError:
            raise RuntimeError("draw_graph: rendering needs the graphviz package and the Graphviz "
                               "program `dot`: pip install -e \".[graph]\" and your system's graphviz "
                               "(apt install graphviz, brew install graphviz); Graph.source has the "
                               "DOT text without them") from None
        try:
            data = graphviz.Source(self.source).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise RuntimeError("draw_graph: the graphviz package is installed but the Graphviz program "
                               "`dot` is not on PATH; install your system's graphviz (apt install "
                               "graphviz, brew install graphviz)") from None
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def _repr_svg_(self):                     # Jupyter shows the picture when it can
        try:
            import graphviz
            return graphviz.Source(self.source).pipe(format='svg').decode('utf-8')
        except Exception:                     # no graphviz: Jupyter falls back to repr
            return None


def draw_graph(tensor, params=None, collapse=True, max_depth=None, rankdir='TB'):
    """The autograd graph behind `tensor` as a Graph (DOT text; .render(path) for a picture).

    params: a Module (its named_parameters name the leaves) or a dict name -> tensor.
    collapse: draw repeated numbered blocks (`blocks.1` ... `blocks.N-2`) as one box.
    max_depth: keep only the ops at most this many steps from the output.
    It can be drawn after backward too: backward frees saved arrays, not the graph.
    """
    if tensor.grad_fn is None:
        raise ValueError("draw_graph: this tensor has no grad_fn, so there is no graph behind it; "
                         "pass the result of ops on tensors that require grad (e.g. the loss)")
    names = _parameter_names(params)
    ops, leaves, edges, depth = _walk(tensor)
    if max_depth is not None:
        if max_depth < 1:
            raise ValueError(f"draw_graph: max_depth must be at least 1, got {max_depth}")
    block_of = _blocks(ops, leaves, edges, names) if collapse and names else {}
    return Graph(_dot(tensor, ops, leaves, edges, depth, names, block_of, max_depth, rankdir),
                 len(ops), len(leaves))


def _parameter_names(params):
    if params is None:
        return {}
    if hasattr(params, 'named_parameters'):
        params = dict(params.named_parameters())
    return {id(t): name for name, t in params.items()}


def _walk(tensor):
    """Every op (grad_fn) and leaf reachable from tensor; edges (src, dst, shape, dtype);
    depth: the fewest steps from the output to each op."""
    ops, leaves, edges, depth = {}, {}, [], {}
    root = tensor.grad_fn
    ops[id(root)] = root
    depth[id(root)] = 0
    queue = deque([root])
    while queue:
        fn = queue.popleft()
        for inp in fn.inputs:
            if inp.grad_fn is None:              # a leaf Tensor, or an Edge to a constant
                if getattr(inp, 'requires_grad', False):
                    leaves[id(inp)] = inp
                    edges.append((id(inp), id(fn), tuple(inp.shape), str(inp.dtype)))
                continue
            src = inp.grad_fn
            edges.append((id(src), id(fn), tuple(inp.shape), _dtype_name(getattr(inp, 'dtype', None))))
            if id(src) not in ops:
                ops[id(src)] = src
                depth[id(src)] = depth[id(fn)] + 1
                queue.append(src)
    return ops, leaves, edges, depth


def _dtype_name(dtype):
    return '' if dtype is None else str(dtype).replace('minitensor.', '')


def _blocks(ops, leaves, edges, names):
    """op id -> (group, index) for ops inside the numbered blocks of a repeated stack.

    An op belongs to block k of group G when the newest block of G upstream of it is k
    and some op downstream of it still reads the parameters of block k or k+1 (so the
    residual add that closes block k is inside it, while the head after the last
    block is not)."""
    block_of_leaf = {}
    for key, leaf in leaves.items():
        m = _REPEATED.match(names.get(key, ''))
        if m:
            block_of_leaf[key] = (m.group(1), int(m.group(2)))
    if not block_of_leaf:
        return {}
    consumers, producers = defaultdict(list), defaultdict(list)
    for src, dst, _, _ in edges:
        consumers[src].append(dst)
        producers[dst].append(src)
    order = _topological(ops, producers)           # producers before consumers
    up = {}                                         # op -> {group: newest block index upstream}
    for op in order:
        acc = {}
        for src in producers[op]:
            for g, k in (up.get(src, {}).items() if src in ops else
                         [block_of_leaf[src]] if src in block_of_leaf else []):
                acc[g] = max(acc.get(g, -1), k)
        up[op] = acc
    down = {}                                       # op -> {group: oldest block read downstream}
    for op in reversed(order):
        acc = {}
        for dst in consumers[op]:
            for g, k in down.get(dst, {}).items():
                acc[g] = min(acc.get(g, math.inf), k)
        for src in producers[op]:                   # this op itself reads block parameters
            if src in block_of_leaf:
                g, k = block_of_leaf[src]
                acc[g] = min(acc.get(g, math.inf), k)
        down[op] = acc
    block_of = {}
    for op in ops:
        for g, k in up[op].items():
            if down[op].get(g, math.inf) in (k, k + 1):
                block_of[op] = (g, k)
    return block_of


def _topological(ops, producers):
    order, seen = [], set()
    for start in ops:
        if start in seen:
            continue
        stack = [(start, False)]
        while stack:
            op, done = stack.pop()
            if done:
                order.append(op)
                continue
            if op in seen:
                continue
            seen.add(op)
            stack.append((op, True))
            stack.extend((p, False) for p in producers[op] if p in ops and p not in seen)
    return order


def _collapsed(block_of, ops):
    """op id -> summary node id for the blocks to hide, and the summaries' labels.

    Blocks first and last of each group stay; the ones between are hidden when each
    has the same ops (by name and count) as the first."""
    members = defaultdict(lambda: defaultdict(list))      # group -> index -> [op ids]
    for op, (g, k) in block_of.items():
        members[g][k].append(op)
    hidden, labels = {}, {}
    for g, by_index in members.items():
        indices = sorted(by_index)
        if len(indices) < 3:
            continue
        signature = sorted(ops[o].name for o in by_index[indices[0]])
        middle = indices[1:-1]
        if any(sorted(ops[o].name for o in by_index[k]) != signature for k in middle):
            continue
        node = f'collapsed_{g}'
        for k in middle:
            for op in by_index[k]:
                hidden[op] = node
        labels[node] = (f"{g}.{middle[0]} ... {g}.{middle[-1]}\\n{len(middle)} blocks drawn as one: "
                        f"each has the same {len(signature)} ops as {g}.{indices[0]}")
    return hidden, labels


def _dot(tensor, ops, leaves, edges, depth, names, block_of, max_depth, rankdir):
    hidden, summary_labels = _collapsed(block_of, ops)
    if max_depth is not None:
        deep = [op for op, d in depth.items() if d > max_depth and op not in hidden]
        if deep:
            for op in deep:
                hidden[op] = 'collapsed_deeper'
            summary_labels['collapsed_deeper'] = f"{len(deep)} more ops\\n(deeper than max_depth={max_depth})"
    out_shape = {id(tensor.grad_fn): (tuple(tensor.shape), _dtype_name(tensor.dtype))}
    for src, _, shape, dtype in edges:
        out_shape.setdefault(src, (shape, dtype))

    lines = ['digraph autograd {', f'  rankdir={rankdir};',
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontsize=8, color="#555555"];']
    clusters = defaultdict(list)
    for op, fn in ops.items():
        if op in hidden:
            continue
        shape, dtype = out_shape.get(op, ((), ''))
        label = f"{fn.name}\\n{_shape(shape)} {dtype}".rstrip()
        style = 'style=filled, fillcolor="#cfe2f3"' if op == id(tensor.grad_fn) else 'style=filled, fillcolor="#eeeeee"'
        line = f'  n{op} [shape=box, {style}, label="{label}"];'
        clusters[block_of[op] if op in block_of else None].append(line)
    consumers = defaultdict(set)
    for src, dst, _, _ in edges:
        consumers[src].add(hidden.get(dst) or dst)
    for group, members in _leaf_groups(leaves, names, consumers, collapse=bool(block_of)).items():
        if all(isinstance(c, str) for c in consumers[members[0]]):
            continue                               # every consumer is folded into a summary box
        first = leaves[members[0]]
        name = names.get(members[0], 'leaf') if len(members) == 1 else group
        count = '' if len(members) == 1 else f'{len(members)} x '
        grad = ''
        if all(leaves[m].grad is not None for m in members):
            total = sum(float((leaves[m].grad.double() ** 2).sum()) for m in members)
            grad = f"\\ngrad norm {total ** 0.5:.3g}"
        node = f'n{members[0]}'
        for m in members[1:]:
            hidden[m] = node                       # their edges are drawn from the group's node
        line = (f'  {node} [shape=ellipse, style=filled, fillcolor="#d9ead3", '
                f'label="{name}\\n{count}{_shape(tuple(first.shape))} {_dtype_name(first.dtype)}{grad}"];')
        m = _REPEATED.match(names.get(members[0], ''))
        in_block = (m.group(1), int(m.group(2))) if m else None
        clusters[in_block if in_block in clusters else None].append(line)
    for node, label in summary_labels.items():
        lines.append(f'  {node} [shape=box3d, style=filled, fillcolor="#fff2cc", label="{label}"];')
    for cluster, body in clusters.items():
        if cluster is None:
            lines.extend(body)
            continue
        g, k = cluster
        lines.append(f'  subgraph "cluster_{g}_{k}" {{ label="{g}.{k}"; style=rounded; color="#999999";')
        lines.extend('  ' + b for b in body)
        lines.append('  }')
    drawn = set()
    for src, dst, shape, _ in edges:
        a = hidden.get(src) or f'n{src}'
        b = hidden.get(dst) or f'n{dst}'
        if a == b or (a, b) in drawn:
            continue
        if src in leaves and all(hidden.get(d) for s, d, _, _ in edges if s == src):
            continue
        drawn.add((a, b))
        lines.append(f'  {a} -> {b};')
    lines.append('}')
    return '\n'.join(lines) + '\n'


def _leaf_groups(leaves, names, consumers, collapse):
    """Leaves drawn as one node: with collapse, those that differ only in their last index
    (`heads.0.key.weight` ... `heads.5.key.weight`), have one shape and feed the same ops;
    every other leaf alone. Returns {label: [leaf ids]}."""
    groups = defaultdict(list)
    for key, leaf in leaves.items():
        name = names.get(key, '')
        pattern = re.sub(r'\.\d+\.(?!.*\.\d+\.)', '.*.', name) if collapse and name else None
        groups[(pattern, tuple(leaf.shape), frozenset(consumers[key])) if pattern else key].append(key)
    out = {}
    for group_key, members in groups.items():
        if isinstance(group_key, tuple) and len(members) >= 3:
            out[group_key[0]] = members
        else:
            for key in members:
                out[key] = [key]
    return out


def _shape(shape):
    return '(' + ', '.join(str(n) for n in shape) + ')'
