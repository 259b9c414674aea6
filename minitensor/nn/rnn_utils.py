"""torch.nn.utils.rnn's padding helpers (pad_sequence, unpad_sequence). Packed sequences
(pack_padded_sequence) are not supported: pad, and mask the loss with the lengths."""
from .. import creation


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side='right'):
    """Stack (L_i, *) tensors into (L_max, B, *) (or (B, L_max, *)), padding each to L_max."""
    if padding_side not in ('left', 'right'):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = longest - s.shape[0]
        if extra:
            fill = creation.full((extra,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = creation.cat([s, fill] if padding_side == 'right' else [fill, s], 0)
        padded.append(s)
    return creation.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of (L_i, *) tensors that pad_sequence (right padding) stacked."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(lengths.tolist() if hasattr(lengths, 'tolist') else lengths)]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    raise NotImplementedError("pack_padded_sequence: packed sequences are not supported by minitensor; "
                              "pass the padded batch to the RNN and mask the padded steps with the lengths")


pack_sequence = pad_packed_sequence = pack_padded_sequence
