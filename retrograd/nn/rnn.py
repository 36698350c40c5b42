"""Recurrent layers: RNN, LSTM, GRU (whole sequences, fused ops) and their cells (composed from primitive ops).

Parameter names, shapes, gate orders and default initialisation are PyTorch's:
weight_ih_l{k}{_reverse} (G*H, in), weight_hh_l{k}{_reverse} (G*H, H), bias_ih_l{k}, bias_hh_l{k},
with G = 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n) or 1 (RNN), all drawn from U(-1/sqrt(H), 1/sqrt(H)).
An LSTM with proj_size = P > 0 also has weight_hr_l{k}{_reverse} (P, H); its states h (and so
weight_hh's second dimension and the next layer's input) have size P.
The equations and the backward pass through time are in ops/recurrent.py; the layers here only
stack layers and directions, apply inter-layer dropout and handle batch_first and packed input.

Stateful use (Keras `stateful=True`, truncated BPTT): pass the returned state back in as `hx` on
the next call, detached -- `state = tuple(s.detach() for s in state)` -- or use
`retrograd.train.tbptt`, which does that bookkeeping.
"""
import math

from ..ops import activation, indexing, linalg, recurrent, shape
from ..tensor import Tensor, empty, zeros
from . import functional as F
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence, pack_rows, unpack_rows
from ..device import check_device

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, dtype=None, device=None):
        super().__init__()
        check_device(device, type(self).__name__)
        name = type(self).__name__
        if not isinstance(input_size, int) or input_size <= 0:
            raise ValueError(f"{name}: input_size must be greater than zero, got {input_size!r}")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive integer, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive integer, got {num_layers!r}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a non-negative integer, got {proj_size!r}")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got proj_size={proj_size} and "
                             f"hidden_size={hidden_size}")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        directions = 2 if bidirectional else 1
        gate_size = GATES[mode] * hidden_size
        state_size = proj_size or hidden_size
        for layer in range(num_layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                layer_input = input_size if layer == 0 else state_size * directions
                setattr(self, "weight_ih" + suffix, Parameter(empty(gate_size, layer_input, dtype=dtype)))
                setattr(self, "weight_hh" + suffix, Parameter(empty(gate_size, state_size, dtype=dtype)))
                if bias:
                    setattr(self, "bias_ih" + suffix, Parameter(empty(gate_size, dtype=dtype)))
                    setattr(self, "bias_hh" + suffix, Parameter(empty(gate_size, dtype=dtype)))
                if proj_size:
                    setattr(self, "weight_hr" + suffix, Parameter(empty(proj_size, hidden_size, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def _weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = self._parameters.get
        return (get("weight_ih" + suffix), get("weight_hh" + suffix), get("bias_ih" + suffix),
                get("bias_hh" + suffix), get("weight_hr" + suffix))

    @property
    def all_weights(self):
        """PyTorch's nesting: one list per layer and direction (l0, l0_reverse, l1, ...), each holding that
        cell's parameters in the order weight_ih, weight_hh, then bias_ih, bias_hh (with biases), then weight_hr
        (with a projection)."""
        directions = 2 if self.bidirectional else 1
        return [[weight for weight in self._weights(layer, direction) if weight is not None]
                for layer in range(self.num_layers) for direction in range(directions)]

    def _check_state(self, state, expected, what):
        if tuple(state.shape) != expected:
            raise RuntimeError(f"{type(self).__name__}: expected {what} of shape {expected}, got {tuple(state.shape)}")

    def forward(self, input, hx=None):
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        x, lengths, unbatched = self._time_major(input)
        batch = x.shape[1]
        directions = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * directions, batch, self.proj_size or self.hidden_size)
        cell_shape = (self.num_layers * directions, batch, self.hidden_size)
        h0, c0 = self._initial_state(hx, state_shape, cell_shape, x.dtype, unbatched, packed and input, is_lstm)
        layer_input, h_n, c_n = self._layers(x, h0, c0, lengths)
        if packed:
            output = pack_rows(layer_input, input)
            if input.unsorted_indices is not None:  # states come back in the caller's batch order
                h_n = indexing.index_select(h_n, 1, input.unsorted_indices)
                c_n = indexing.index_select(c_n, 1, input.unsorted_indices) if is_lstm else None
        elif unbatched:
            output = shape.squeeze(layer_input, 1)
            h_n = shape.squeeze(h_n, 1)
            c_n = shape.squeeze(c_n, 1) if is_lstm else None
        else:
            output = shape.transpose(layer_input, 0, 1) if self.batch_first else layer_input
        return output, ((h_n, c_n) if is_lstm else h_n)

    def _time_major(self, input):
        """(x as (T, B, I), lengths or None, whether the input was unbatched), with the input's checks."""
        name = type(self).__name__
        lengths, unbatched = None, False
        if isinstance(input, PackedSequence):
            x, lengths = unpack_rows(input)  # (T, B, I) time-major, lengths in the packed (sorted) order
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: expected a Tensor or PackedSequence input, got {type(input).__name__}")
            unbatched = input.ndim == 2
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: expected input of 2 or 3 dimensions (seq, batch, features), got shape "
                                 f"{tuple(input.shape)}")
            x = shape.unsqueeze(input, 1) if unbatched else (
                shape.transpose(input, 0, 1) if self.batch_first else input)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}(input_size={self.input_size}): input.size(-1) must be equal to input_size, "
                             f"got {x.shape[-1]} (input shape {tuple(x.shape)})")
        if x.dtype != self.weight_ih_l0.dtype:  # NumPy would promote an int input, or fail deep in the op
            weight_dtype = self.weight_ih_l0.dtype
            raise ValueError(f"{name}: input dtype ({x.dtype}) does not match weight dtype ({weight_dtype}). "
                             f"Convert input: input.to(retrograd.{weight_dtype}), or convert model: "
                             f"model.to(retrograd.{x.dtype})")
        if x.shape[0] == 0:
            raise RuntimeError(f"{name}: Expected sequence length to be larger than 0 in RNN, got input shape "
                               f"{tuple(input.shape)}")
        return x, lengths, unbatched

    def _layers(self, x, h0, c0, lengths):
        """Run every layer and direction: (last layer's output (T, B, D*H), h_n, c_n or None)."""
        directions = 2 if self.bidirectional else 1
        h_finals, c_finals = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                sequence = layer_input if direction == 0 else recurrent.reverse_sequences(layer_input, lengths)
                out, h_n, c_n = self._sequence(sequence, h0[index], None if c0 is None else c0[index], lengths,
                                               *self._weights(layer, direction))
                if direction == 1:
                    out = recurrent.reverse_sequences(out, lengths)
                outputs.append(out)
                h_finals.append(h_n)
                c_finals.append(c_n)
            layer_input = outputs[0] if directions == 1 else shape.cat(outputs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        c_n = shape.stack(c_finals, 0) if self.mode == "LSTM" else None
        return layer_input, shape.stack(h_finals, 0), c_n

    def _sequence(self, sequence, h0, c0, lengths, w_ih, w_hh, b_ih, b_hh, w_hr):
        """One layer in one direction through the fused op of this mode: (output, h_n, c_n or None)."""
        if self.mode == "LSTM":
            return recurrent.lstm_sequence(sequence, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, w_hr)
        if self.mode == "GRU":
            return (*recurrent.gru_sequence(sequence, h0, w_ih, w_hh, b_ih, b_hh, lengths), None)
        nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
        return (*recurrent.rnn_sequence(sequence, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, lengths), None)

    def _initial_state(self, hx, state_shape, cell_shape, dtype, unbatched, packed_input, is_lstm):
        """(h0, c0) of shapes (layers * directions, B, P) and (layers * directions, B, H), zeros by default;
        reordered like a packed batch."""
        if hx is None:
            return zeros(*state_shape, dtype=dtype), zeros(*cell_shape, dtype=dtype) if is_lstm else None
        if is_lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
            h0, c0 = hx
        else:
            if isinstance(hx, (tuple, list)):
                raise TypeError(f"{type(self).__name__}: hx must be a Tensor h_0, not a tuple")
            h0, c0 = hx, None
        if unbatched:
            h0 = shape.unsqueeze(h0, 1)
            c0 = shape.unsqueeze(c0, 1) if c0 is not None else None
        self._check_state(h0, state_shape, "hidden state h_0")
        if c0 is not None:
            self._check_state(c0, cell_shape, "cell state c_0")
        if packed_input and packed_input.sorted_indices is not None:
            h0 = indexing.index_select(h0, 1, packed_input.sorted_indices)
            c0 = indexing.index_select(c0, 1, packed_input.sorted_indices) if c0 is not None else None
        return h0, c0

    def flatten_parameters(self):
        """A no-op kept for PyTorch compatibility (there is no cuDNN weight buffer here)."""

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh (default) or relu."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, dtype=None, device=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, proj_size, dtype=dtype, device=device)


class LSTM(RNNBase):
    """LSTM with gates i, f, g, o: c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t). Returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, dtype=None, device=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, dtype=dtype, device=device)


class GRU(RNNBase):
    """GRU with gates r, z, n: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1}."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, dtype=None, device=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, dtype=dtype, device=device)


# ----- cells: one time step, composed from primitive ops (the reference the fused layers are tested against) ---
class RNNCellBase(Module):
    _tensor_args = 1

    def __init__(self, input_size, hidden_size, bias, gates, dtype=None, device=None):
        super().__init__()
        check_device(device, type(self).__name__)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(empty(gates * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(gates * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gates * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(empty(gates * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def _prepare(self, x, hx):
        name = type(self).__name__
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{name}(input_size={self.input_size}): expected input (batch, {self.input_size}) or "
                             f"({self.input_size},), got {tuple(x.shape)}")
        if x.dtype != self.weight_ih.dtype:  # PyTorch's GEMM refuses mixed dtypes; NumPy would promote
            raise RuntimeError(f"{name}: mat1 and mat2 must have the same dtype, but got input dtype {x.dtype} and "
                               f"weight dtype {self.weight_ih.dtype}")
        unbatched = x.ndim == 1
        if unbatched:
            x = shape.unsqueeze(x, 0)
        return x, unbatched

    def _zeros(self, x):
        return zeros(x.shape[0], self.hidden_size, dtype=x.dtype)

    def _state(self, state, x, unbatched, what="hx"):
        """A given state, batched like x and checked against it (PyTorch's messages): (batch, hidden_size)."""
        name = type(self).__name__
        if not isinstance(state, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(state).__name__}")
        state = _maybe_batch(state, unbatched)
        if state.ndim != 2 or state.shape[0] != x.shape[0]:
            raise RuntimeError(f"{name}: Input batch size {x.shape[0]} doesn't match {what} batch size "
                               f"{state.shape[0] if state.ndim else None} ({what} shape {tuple(state.shape)})")
        if state.shape[1] != self.hidden_size:
            raise RuntimeError(f"{name}: {what} has inconsistent hidden_size: got {state.shape[1]}, expected "
                               f"{self.hidden_size}")
        return state

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


def _maybe_batch(state, unbatched):
    return None if state is None else (shape.unsqueeze(state, 0) if unbatched else state)


class RNNCell(RNNCellBase):
    """h' = act(W_ih x + b_ih + W_hh h + b_hh)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None, device=None):
        super().__init__(input_size, hidden_size, bias, 1, dtype, device)
        self.nonlinearity = nonlinearity

    def forward(self, x, hx=None):
        x, unbatched = self._prepare(x, hx)
        h = self._state(hx, x, unbatched) if hx is not None else self._zeros(x)
        pre = linalg.linear(x, self.weight_ih, self.bias_ih) + linalg.linear(h, self.weight_hh, self.bias_hh)
        h_new = activation.tanh(pre) if self.nonlinearity == "tanh" else activation.relu(pre)
        return shape.squeeze(h_new, 0) if unbatched else h_new


class LSTMCell(RNNCellBase):
    """One LSTM step from primitive ops: gates = W_ih x + b_ih + W_hh h + b_hh split into i, f, g, o."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None, device=None):
        super().__init__(input_size, hidden_size, bias, 4, dtype, device)

    def forward(self, x, hx=None):
        x, unbatched = self._prepare(x, hx)
        if hx is None:
            h = c = self._zeros(x)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:  # unpacking a Tensor would split its rows
            raise TypeError(f"LSTMCell: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        else:
            h, c = self._state(hx[0], x, unbatched, "h_0"), self._state(hx[1], x, unbatched, "c_0")
        gates = linalg.linear(x, self.weight_ih, self.bias_ih) + linalg.linear(h, self.weight_hh, self.bias_hh)
        i, f, g, o = shape.chunk(gates, 4, dim=1)
        c_new = activation.sigmoid(f) * c + activation.sigmoid(i) * activation.tanh(g)
        h_new = activation.sigmoid(o) * activation.tanh(c_new)
        if unbatched:
            return shape.squeeze(h_new, 0), shape.squeeze(c_new, 0)
        return h_new, c_new


class GRUCell(RNNCellBase):
    """One GRU step from primitive ops (PyTorch's equations: r gates W_hn h + b_hn)."""

    def __init__(self, input_size, hidden_size, bias=True, dtype=None, device=None):
        super().__init__(input_size, hidden_size, bias, 3, dtype, device)

    def forward(self, x, hx=None):
        x, unbatched = self._prepare(x, hx)
        h = self._state(hx, x, unbatched) if hx is not None else self._zeros(x)
        x_r, x_z, x_n = shape.chunk(linalg.linear(x, self.weight_ih, self.bias_ih), 3, dim=1)
        h_r, h_z, h_n = shape.chunk(linalg.linear(h, self.weight_hh, self.bias_hh), 3, dim=1)
        r = activation.sigmoid(x_r + h_r)
        z = activation.sigmoid(x_z + h_z)
        n = activation.tanh(x_n + r * h_n)
        h_new = (1 - z) * n + z * h
        return shape.squeeze(h_new, 0) if unbatched else h_new
