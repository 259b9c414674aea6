"""minitensor.nn: modules, layers, functional (F), init and utils, as torch.nn."""
from . import functional, init, utils
from .activation import (CELU, ELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU,
                         LogSigmoid, LogSoftmax, Mish, PReLU, ReLU6, SiLU, Softplus, Softsign,
                         Tanhshrink, Threshold)
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, Conv1d, Conv2d,
                   MaxPool1d, MaxPool2d)
from .layers import (GELU, Dropout, Embedding, Flatten, Identity, LayerNorm, Linear, ReLU, Sigmoid,
                     Softmax, Tanh, Unflatten)
from .loss import (BCELoss, BCEWithLogitsLoss, CosineSimilarity, CrossEntropyLoss, HuberLoss,
                   KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d
from .parameter import Parameter
from .rnn import GRU, LSTM, RNN
from .rnn_cells import GRUCell, LSTMCell, RNNCell
from .layers_more import (AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AlphaDropout, AvgPool3d,
                          Bilinear, ChannelShuffle, CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d,
                          ConstantPad2d, ConstantPad3d, Conv3d, ConvTranspose1d, ConvTranspose2d,
                          ConvTranspose3d, CosineEmbeddingLoss, Dropout1d, Dropout2d, Dropout3d,
                          FeatureAlphaDropout, Fold, GaussianNLLLoss, GroupNorm, Hardshrink,
                          HingeEmbeddingLoss, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
                          LocalResponseNorm, LPPool1d, LPPool2d, MarginRankingLoss, MaxPool3d, MaxUnpool1d,
                          MaxUnpool2d, MaxUnpool3d, MultiLabelSoftMarginLoss, MultiMarginLoss,
                          PairwiseDistance, PixelShuffle, PixelUnshuffle, PoissonNLLLoss, ReflectionPad1d,
                          ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
                          ReplicationPad3d, RMSNorm, RReLU, Softmax2d, Softmin, SoftMarginLoss, Softshrink,
                          TripletMarginLoss, TripletMarginWithDistanceLoss, Unfold, Upsample,
                          UpsamplingBilinear2d, UpsamplingNearest2d, ZeroPad1d, ZeroPad2d, ZeroPad3d)
from .transformer import (MultiheadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)
from . import parallel  # noqa: E402  (needs Module)
from . import rnn_utils as _rnn_utils  # noqa: E402
utils.rnn = _rnn_utils          # torch.nn.utils.rnn.pad_sequence
