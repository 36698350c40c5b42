"""`torch.nn.modules.rnn`'s path to retrograd's recurrent layers (`retrograd/nn/rnn.py`)."""
from ..rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
