def save(*a, **k):
    raise RuntimeError("not yet")
def load(*a, **k):
    raise RuntimeError("not yet")
