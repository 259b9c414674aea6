"""The Functions, grouped by kind: elementwise, reduce, shape, index, matmul, nn."""
