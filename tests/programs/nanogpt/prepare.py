"""Character-level data prep in the style of nanoGPT's shakespeare_char/prepare.py:
writes train.bin / val.bin (uint16 ids) and meta.pkl into the given directory."""
import os
import pickle
import sys

import numpy as np

src, out_dir = sys.argv[1], sys.argv[2]
with open(src, 'r', encoding='utf-8') as f:
    data = f.read()[:300_000]
chars = sorted(list(set(data)))
vocab_size = len(chars)
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for i, ch in enumerate(chars)}
n = len(data)
train_ids = np.array([stoi[c] for c in data[:int(n*0.9)]], dtype=np.uint16)
val_ids = np.array([stoi[c] for c in data[int(n*0.9):]], dtype=np.uint16)
os.makedirs(out_dir, exist_ok=True)
train_ids.tofile(os.path.join(out_dir, 'train.bin'))
val_ids.tofile(os.path.join(out_dir, 'val.bin'))
with open(os.path.join(out_dir, 'meta.pkl'), 'wb') as f:
    pickle.dump({'vocab_size': vocab_size, 'itos': itos, 'stoi': stoi}, f)
print(f"vocab {vocab_size}, train {len(train_ids):,} tokens, val {len(val_ids):,} tokens")
