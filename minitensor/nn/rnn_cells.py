"""One-step recurrent cells RNNCell, LSTMCell and GRUCell (torch's parameter names, gate
order and init); the step itself is RNNBase's, so a cell and a one-layer RNN agree."""
import math

from .. import creation
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .rnn import _GATES, RNNBase


class RNNCellBase(Module):
    """weight_ih (G*H, in), weight_hh (G*H, H), bias_ih, bias_hh, all U(+-1/sqrt(H))."""

    def __init__(self, mode, input_size, hidden_size, bias=True, device='cpu', dtype=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        gate = _GATES[mode] * hidden_size
        shapes = [('weight_ih', (gate, input_size)), ('weight_hh', (gate, hidden_size))]
        if bias:
            shapes += [('bias_ih', (gate,)), ('bias_hh', (gate,))]
        else:
            self.register_parameter('bias_ih', None)
            self.register_parameter('bias_hh', None)
        bound = 1 / math.sqrt(hidden_size)
        for name, shape in shapes:
            p = Parameter(creation.empty(*shape, device=device, dtype=dtype))
            init.uniform_(p, -bound, bound)
            setattr(self, name, p)

    def _step(self, input, hx):
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        zeros = creation.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
        if self.mode == 'LSTM':
            h, c = (zeros, zeros) if hx is None else hx
        else:
            h, c = (zeros if hx is None else hx), None
        if unbatched and hx is not None:
            h = h.unsqueeze(0)
            c = c.unsqueeze(0) if c is not None else None
        gx = F.linear(x, self.weight_ih, self.bias_ih)
        h, c = RNNBase._cell(self, gx, h, c, self.weight_hh, self.bias_hh)
        if unbatched:
            h = h.squeeze(0)
            c = c.squeeze(0) if c is not None else None
        return h, c

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity='tanh', device='cpu', dtype=None):
        if nonlinearity not in ('tanh', 'relu'):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
        super().__init__('RNN_TANH' if nonlinearity == 'tanh' else 'RNN_RELU', input_size, hidden_size, bias,
                         device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step; returns (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device='cpu', dtype=None):
        super().__init__('LSTM', input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx)


class GRUCell(RNNCellBase):
    """One GRU step; returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, device='cpu', dtype=None):
        super().__init__('GRU', input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        return self._step(input, hx)[0]
