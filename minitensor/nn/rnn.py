"""Recurrent layers RNN, LSTM and GRU (torch's parameter names, shapes, gate order and init),
composed from Linear ops and elementwise gates, so autograd gives every gradient.

Each layer and direction multiplies the whole input sequence by W_ih at once (one GEMM),
then loops over time for the h @ W_hh^T part.
"""
import math

from .. import creation
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

_GATES = {'RNN_TANH': 1, 'RNN_RELU': 1, 'LSTM': 4, 'GRU': 3}


class RNNBase(Module):
    """Shared by RNN, LSTM and GRU: parameters weight_ih_l{k}[_reverse], weight_hh_l{k}[_reverse],
    bias_ih_l{k}[_reverse], bias_hh_l{k}[_reverse], all U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device='cpu', dtype=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive int, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1], got {dropout}")
        if proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to disable projections")
        if proj_size and mode != 'LSTM':
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size")
        self.proj_size = proj_size
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        gate = _GATES[mode] * hidden_size
        bound = 1 / math.sqrt(hidden_size)
        self._flat_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else self._out_size * self.num_directions
            for suffix in ('', '_reverse')[:self.num_directions]:
                shapes = [('weight_ih', (gate, layer_in)), ('weight_hh', (gate, self._out_size))]
                if bias:
                    shapes += [('bias_ih', (gate,)), ('bias_hh', (gate,))]
                if proj_size:                    # LSTM with projections: h = (o * tanh c) W_hr^T
                    shapes += [('weight_hr', (proj_size, hidden_size))]
                for kind, shape in shapes:
                    pname = f"{kind}_l{layer}{suffix}"
                    p = Parameter(creation.empty(*shape, device=device, dtype=dtype))
                    init.uniform_(p, -bound, bound)
                    setattr(self, pname, p)
                    self._flat_names.append(pname)

    @property
    def _out_size(self):
        """The size of h (and of each direction's output): proj_size when projecting."""
        return getattr(self, 'proj_size', 0) or self.hidden_size

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    def _weights(self, layer, direction):
        suffix = '_reverse' if direction else ''
        return tuple(getattr(self, f"{kind}_l{layer}{suffix}", None)
                     for kind in ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh', 'weight_hr'))

    def _cell(self, gx, h, c, w_hh, b_hh, w_hr=None):
        """One time step: gx = x_t W_ih^T + b_ih (N, G); returns (h', c')."""
        gh = F.linear(h, w_hh, b_hh)                                      # (N, G)
        if self.mode == 'LSTM':
            i, f, g, o = (gx + gh).chunk(4, -1)
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h = o.sigmoid() * c.tanh()
            return (h if w_hr is None else F.linear(h, w_hr)), c
        if self.mode == 'GRU':
            r_x, z_x, n_x = gx.chunk(3, -1)
            r_h, z_h, n_h = gh.chunk(3, -1)
            r, z = (r_x + r_h).sigmoid(), (z_x + z_h).sigmoid()
            n = (n_x + r * n_h).tanh()
            return (1 - z) * n + z * h, None
        pre = gx + gh
        return (pre.tanh() if self.mode == 'RNN_TANH' else pre.relu()), None

    def forward(self, input, hx=None):
        name = type(self).__name__
        unbatched = input.ndim == 2
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: expected a 2-d (unbatched) or 3-d input, got shape {input.shape}")
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        seq_len, batch = x.shape[0], x.shape[1]
        n_states = self.num_layers * self.num_directions
        h0 = c0 = None
        if hx is not None:
            h0, c0 = hx if self.mode == 'LSTM' else (hx, None)
            if unbatched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
            if h0.shape != (n_states, batch, self._out_size):
                raise RuntimeError(f"{name}: expected hidden size {(n_states, batch, self._out_size)}, "
                                   f"got {h0.shape}")
            if c0 is not None and c0.shape != (n_states, batch, self.hidden_size):
                raise RuntimeError(f"{name}: expected cell size {(n_states, batch, self.hidden_size)}, "
                                   f"got {c0.shape}")
        zeros = creation.zeros(batch, self.hidden_size, dtype=x.dtype, device=x.device)
        zeros_h = creation.zeros(batch, self._out_size, dtype=x.dtype, device=x.device)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, direction)
                gx = F.linear(x, w_ih, b_ih)                               # (L, N, G): one GEMM
                h = h0[k] if h0 is not None else zeros_h
                c = (c0[k] if c0 is not None else zeros) if self.mode == 'LSTM' else None
                steps = range(seq_len - 1, -1, -1) if direction else range(seq_len)
                hs = [None] * seq_len
                for t in steps:
                    h, c = self._cell(gx[t], h, c, w_hh, b_hh, w_hr)
                    hs[t] = h
                outs.append(creation.stack(hs, 0) if seq_len else
                            creation.zeros(0, batch, self._out_size, dtype=x.dtype, device=x.device))
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if len(outs) == 1 else creation.cat(outs, -1)     # (L, N, D*H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        out = x.squeeze(1) if unbatched else (x.transpose(0, 1) if self.batch_first else x)
        h_n = creation.stack(h_n, 0)
        if unbatched:
            h_n = h_n.squeeze(1)
        if self.mode != 'LSTM':
            return out, h_n
        c_n = creation.stack(c_n, 0)
        return out, (h_n, c_n.squeeze(1) if unbatched else c_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if getattr(self, 'proj_size', 0):
            s += f", proj_size={self.proj_size}"
        return s


class RNN(RNNBase):
    """Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device='cpu', dtype=None):
        if nonlinearity not in ('tanh', 'relu'):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
        super().__init__('RNN_TANH' if nonlinearity == 'tanh' else 'RNN_RELU', input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory; gates in torch's order (input, forget, cell, output).
    Returns output, (h_n, c_n)."""

    def __init__(self, *args, **kwargs):
        super().__init__('LSTM', *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit; gates in torch's order (reset, update, new). Returns output, h_n."""

    def __init__(self, *args, **kwargs):
        super().__init__('GRU', *args, **kwargs)
