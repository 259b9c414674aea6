"""gpt.data: text loading, CharTokenizer, TextBatches.get_batch."""
import pytest

import minitensor as mt
from gpt.data import DEFAULT_DATA_PATH, CharTokenizer, TextBatches, load_text
from gpt.errors import UserError


def test_packaged_corpus_is_tiny_shakespeare():
    text = load_text()
    assert DEFAULT_DATA_PATH.is_file()
    assert len(text) == 1_115_394
    assert CharTokenizer(text).vocab_size == 65
    assert text.startswith('First Citizen:')


def test_tokenizer_round_trip_and_sorted_vocabulary():
    tok = CharTokenizer.from_text("hello world!")
    assert tok.chars == sorted(set("hello world!"))
    assert tok.encode("") == []
    ids = tok.encode("hold lower")
    assert ids == [tok.chars.index(c) for c in "hold lower"]
    assert tok.decode(ids) == "hold lower"
    assert tok.decode(mt.tensor(ids)) == "hold lower"      # tensors decode too


def test_tokenizer_plain_forms_restore_the_same_vocabulary():
    tok = CharTokenizer.from_text("the quick brown fox\n")
    assert CharTokenizer.from_string(tok.to_string()) == tok
    assert CharTokenizer.from_dict(tok.to_dict()) == tok
    assert isinstance(tok.to_string(), str) and isinstance(tok.to_dict()['chars'], str)


def test_encode_unknown_characters_raises_naming_them():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"2 character\(s\) not in the vocabulary: 'xz'"):
        tok.encode("abxcz")


def test_decode_out_of_range_id_raises():
    with pytest.raises(ValueError, match="id 7 is out of range for a vocabulary of 3"):
        CharTokenizer.from_text("abc").decode([0, 7])
    with pytest.raises(ValueError, match="id -1 is out of range for a vocabulary of 3"):
        CharTokenizer.from_text("abc").decode(mt.tensor([0, -1]))        # not 'c', as list indexing would


def test_empty_vocabulary_raises():
    with pytest.raises(ValueError, match="vocabulary is empty"):
        CharTokenizer("")


def test_load_text_errors(tmp_path):
    with pytest.raises(UserError, match="data file not found: .*nope.txt"):
        load_text(tmp_path / 'nope.txt')
    with pytest.raises(UserError, match="is not a regular file \\(a directory\\)"):
        load_text(tmp_path)
    with pytest.raises(UserError, match="/dev/null is not a regular file \\(a device, pipe or socket\\)"):
        load_text('/dev/null')
    latin1 = tmp_path / 'latin1.txt'
    latin1.write_bytes("caf\u00e9 cr\u00e8me".encode('latin-1'))
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        load_text(latin1)
    empty = tmp_path / 'empty.txt'
    empty.write_text('')
    with pytest.raises(ValueError, match="is empty"):
        load_text(empty)
    utf8 = tmp_path / 'utf8.txt'
    utf8.write_text("caf\u00e9 \u2603", encoding='utf-8')
    assert load_text(utf8) == "caf\u00e9 \u2603"


def test_batches_shapes_shift_and_split():
    text = ''.join(chr(ord('a') + i % 26) for i in range(1000))
    tok = CharTokenizer(text)
    data = TextBatches(text, tok, block_size=8, batch_size=5)
    assert len(data.splits['train']) == 900 and len(data.splits['val']) == 100
    mt.manual_seed(0)
    for split in ('train', 'val'):
        x, y = data.get_batch(split)
        assert x.shape == (5, 8) and y.shape == (5, 8)
        assert x.dtype == mt.int64 and y.dtype == mt.int64 and x.device == 'cpu'
        xs, ys = x.tolist(), y.tolist()
        for row_x, row_y in zip(xs, ys):
            assert row_x[1:] == row_y[:-1]                  # y is x shifted left by one
            assert (row_x[-1] + 1) % 26 == row_y[-1]        # the corpus is a cycle of a..z
            assert all((a + 1) % 26 == b for a, b in zip(row_x, row_x[1:]))   # contiguous windows


def test_batches_come_from_their_split():
    # train is all 'a'/'b', val is all 'c'/'d': a batch must not cross the boundary
    text = 'ab' * 450 + 'cd' * 50
    tok = CharTokenizer(text)
    data = TextBatches(text, tok, block_size=16, batch_size=64)
    x, y = data.get_batch('train')
    assert set(sum(x.tolist(), [])) | set(sum(y.tolist(), [])) <= {0, 1}
    x, y = data.get_batch('val')
    assert set(sum(x.tolist(), [])) | set(sum(y.tolist(), [])) <= {2, 3}


def test_batches_reach_the_last_character_of_a_split():
    text = 'abcdefghij' * 10                                   # 100 chars: val is 10 chars
    data = TextBatches(text, CharTokenizer(text), block_size=9, batch_size=256)
    _, y = data.get_batch('val')                              # val has exactly one window
    assert y.tolist()[0] == data.splits['val'].tolist()[1:]


def test_get_batch_is_reproducible_from_the_seed():
    text = load_text()[:5000]
    data = TextBatches(text, CharTokenizer(text), block_size=8, batch_size=4)
    mt.manual_seed(7)
    a = data.get_batch('train')[0].tolist()
    mt.manual_seed(7)
    assert data.get_batch('train')[0].tolist() == a


def test_corpus_too_short_for_block_size_raises():
    text = 'x' * 50 + 'y' * 50
    with pytest.raises(ValueError, match=r"too short for block_size 10: its val split .* has 10 characters "
                                         r"but needs at least block_size \+ 1 = 11"):
        TextBatches(text, CharTokenizer(text), block_size=10, batch_size=2)


def test_unknown_split_raises():
    text = 'abcdefghij' * 10
    data = TextBatches(text, CharTokenizer(text), block_size=4, batch_size=2)
    with pytest.raises(ValueError, match="split must be 'train' or 'val'"):
        data.get_batch('test')


def test_encode_array_is_encode_vectorised():
    import numpy as np
    text = load_text()
    tok = CharTokenizer.from_text(text)
    assert tok.chars == sorted(set(text))
    ids = tok.encode_array(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ids[:5000].tolist() == tok.encode(text[:5000]) and ids[-5000:].tolist() == tok.encode(text[-5000:])
    for other in ("h\u00e9llo \u2603 \U0001F600!", "\ud800 lone surrogate", ""):     # non-ASCII: 4 bytes a character
        t = CharTokenizer.from_text(other or "x")
        assert t.chars == sorted(set(other or "x"))
        assert t.encode_array(other).tolist() == t.encode(other)
    abc = CharTokenizer.from_text("abc")
    for bad, unknown in (("abxcz", "'xz'"), ("ab\u2603", "'\u2603'"), ("a\x7f", "'\\\\x7f'")):
        with pytest.raises(ValueError, match=f"character\\(s\\) not in the vocabulary: {unknown}"):
            abc.encode_array(bad)
    data = TextBatches(text[:3000], CharTokenizer.from_text(text[:3000]), block_size=8, batch_size=2)
    assert data.splits['train'].tolist() + data.splits['val'].tolist() == \
        CharTokenizer.from_text(text[:3000]).encode(text[:3000])
