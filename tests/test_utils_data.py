"""minitensor.utils.data against torch.utils.data: the same batches in the same order
(sequential), the same collation (structure, dtypes), lengths and errors; shuffled
epochs are permutations."""
import numpy as np
import pytest

import minitensor as mt
from minitensor.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler,
                                   SequentialSampler, Subset, TensorDataset, default_collate,
                                   random_split)


def as_np(x):
    return x.numpy() if hasattr(x, 'numpy') else np.asarray(x)


def flatten(batch):
    if isinstance(batch, dict):
        return [item for k in sorted(batch) for item in [k] + flatten(batch[k])]
    if isinstance(batch, (list, tuple)):
        return [item for b in batch for item in flatten(b)]
    return [batch]


def same_batches(ours, theirs):
    ours, theirs = list(ours), list(theirs)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        fo, ft = flatten(o), flatten(t)
        assert len(fo) == len(ft)
        for a, b in zip(fo, ft):
            if isinstance(b, str):
                assert a == b
                continue
            assert str(a.dtype).split('.')[-1] == str(b.dtype).split('.')[-1]
            np.testing.assert_array_equal(as_np(a), as_np(b))


@pytest.mark.parametrize('batch_size, drop_last', [(1, False), (3, False), (3, True), (10, False), (32, True)])
def test_sequential_batches_equal_torch(batch_size, drop_last):
    torch = pytest.importorskip('torch')
    X = np.arange(30, dtype=np.float32).reshape(10, 3)
    Y = np.arange(10)
    ours = DataLoader(TensorDataset(mt.tensor(X), mt.tensor(Y)), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y)),
                                         batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    same_batches(ours, theirs)


def test_default_collate_of_numbers_strings_dicts_and_arrays_equals_torch():
    torch = pytest.importorskip('torch')
    samples = [{'x': np.ones(2, np.float32) * i, 'n': i, 'f': i / 2, 'b': i % 2 == 0, 's': f'w{i}',
                'pair': (i, [i * 1.0, -i * 1.0])} for i in range(4)]
    same_batches([default_collate(samples)], [torch.utils.data.default_collate(samples)])
    ours = DataLoader(samples, batch_size=None)
    theirs = torch.utils.data.DataLoader(samples, batch_size=None)
    assert len(ours) == len(theirs) == 4


def test_shuffled_epochs_are_permutations_and_differ():
    data = TensorDataset(mt.arange(50))
    loader = DataLoader(data, batch_size=7, shuffle=True, generator=mt.Generator().manual_seed(0))
    epochs = [np.concatenate([as_np(b[0]) for b in loader]) for _ in range(2)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(50))
    assert epochs[0].tolist() != epochs[1].tolist()
    again = DataLoader(data, batch_size=7, shuffle=True, generator=mt.Generator().manual_seed(0))
    assert np.concatenate([as_np(b[0]) for b in again]).tolist() == epochs[0].tolist()


def test_random_split_lengths_and_fractions_equal_torch():
    torch = pytest.importorskip('torch')
    for lengths in ([4, 7], [0.3, 0.7], [0.33, 0.33, 0.34], [0.5, 0.5]):
        ours = random_split(TensorDataset(mt.arange(11)), lengths)
        theirs = torch.utils.data.random_split(torch.utils.data.TensorDataset(torch.arange(11)), lengths)
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        picked = sorted(int(s[i][0]) for s in ours for i in range(len(s)))
        assert picked == list(range(11))
    with pytest.raises(ValueError, match='sum of input lengths'):
        random_split(TensorDataset(mt.arange(11)), [3, 7])


def test_subset_concat_and_samplers():
    a, b = TensorDataset(mt.arange(3)), TensorDataset(mt.arange(10, 14))
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 7
    assert [int(both[i][0]) for i in range(7)] == [0, 1, 2, 10, 11, 12, 13]
    assert int(both[-1][0]) == 13
    sub = Subset(both, [6, 0])
    assert [int(sub[i][0]) for i in range(2)] == [13, 0]
    assert list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False)) == [[0, 1], [2, 3], [4]]
    assert len(BatchSampler(SequentialSampler(range(5)), 2, drop_last=True)) == 2
    drawn = list(RandomSampler(range(4), replacement=True, num_samples=9))
    assert len(drawn) == 9 and set(drawn) <= {0, 1, 2, 3}


def test_a_dataset_of_our_own_in_the_tutorial_style():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return mt.tensor([float(i)]), mt.tensor(float(i * i))

    xb, yb = next(iter(DataLoader(Squares(), batch_size=5)))
    assert tuple(xb.shape) == (5, 1) and yb.tolist() == [0.0, 1.0, 4.0, 9.0, 16.0]


def test_errors_as_torch():
    torch = pytest.importorskip('torch')
    data = TensorDataset(mt.arange(4))
    tdata = torch.utils.data.TensorDataset(torch.arange(4))
    for kwargs in (dict(batch_size=0), dict(sampler=SequentialSampler(range(4)), shuffle=True),
                   dict(num_workers=-1), dict(batch_sampler=[[0]], batch_size=2)):
        with pytest.raises(ValueError):
            torch.utils.data.DataLoader(tdata, **{k: (torch.utils.data.SequentialSampler(range(4))
                                                      if k == 'sampler' else v) for k, v in kwargs.items()})
        with pytest.raises(ValueError):
            DataLoader(data, **kwargs)
    with pytest.raises(ValueError, match='same size in dim 0'):
        TensorDataset(mt.ones(3), mt.ones(4))
