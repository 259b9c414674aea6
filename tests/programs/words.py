"""A small word list for the makemore-style programs: lower-case words of the bundled
tiny shakespeare (makemore trains on names; any list of short words works the same)."""
import os
import re


def load_words(limit=4000):
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, '..', '..', 'gpt', 'data', 'tinyshakespeare.txt')
    with open(path, encoding='utf-8') as f:
        text = f.read()
    seen, words = set(), []
    for w in re.findall(r"[a-z]+", text.lower()):
        if 2 <= len(w) <= 10 and w not in seen:
            seen.add(w)
            words.append(w)
    return words[:limit]
