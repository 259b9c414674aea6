"""Named-tuple results, as torch.return_types: `values, indices = x.max(1)` and
`x.max(1).values` both work."""
from collections import namedtuple

max = namedtuple('max', ['values', 'indices'])
min = namedtuple('min', ['values', 'indices'])
sort = namedtuple('sort', ['values', 'indices'])
topk = namedtuple('topk', ['values', 'indices'])
kthvalue = namedtuple('kthvalue', ['values', 'indices'])
median = namedtuple('median', ['values', 'indices'])
nanmedian = namedtuple('nanmedian', ['values', 'indices'])
mode = namedtuple('mode', ['values', 'indices'])
cummax = namedtuple('cummax', ['values', 'indices'])
cummin = namedtuple('cummin', ['values', 'indices'])
aminmax = namedtuple('aminmax', ['min', 'max'])
histogram = namedtuple('histogram', ['hist', 'bin_edges'])
frexp = namedtuple('frexp', ['mantissa', 'exponent'])
