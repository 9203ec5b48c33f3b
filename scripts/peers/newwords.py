#!/usr/bin/env python3
"""Plain-Python peer of `nlp-text newwords` (2019 algorithm, defaults n=4, min_count 32,
ln thresholds [0, 2, 4, 6]), written independently for `cargo xtask bench text`.

Usage: python3 scripts/peers/newwords.py INPUT OUTPUT [MIN_COUNT]
Writes word<TAB>count sorted by count descending, then word (code point order).
Full-width forms U+FF01..U+FF5E are folded to ASCII and U+3000 to a space first, as
`nlp-text newwords` does by default (without `--no-fold-width`).
One process, standard library only.
"""
import math
import re
import sys

ORDER = 4
THRESHOLDS = [0, 2, 4, 6]
SPLIT = re.compile("[^\u4e00-\u9fa50-9a-zA-Z]+")
FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
FOLD[0x3000] = 0x20


def texts(path):
    with open(path, encoding="utf-8", errors="strict") as f:
        for line in f:
            for piece in SPLIT.split(line.translate(FOLD)):
                if piece:
                    yield piece


def count_ngrams(path):
    ngrams = [dict() for _ in range(ORDER)]
    for t in texts(path):
        n = len(t)
        for i in range(n):
            for j in range(1, min(ORDER, n - i) + 1):
                g = t[i:i + j]
                d = ngrams[j - 1]
                d[g] = d.get(g, 0) + 1
    return ngrams


def filter_ngrams(ngrams, total, min_count):
    kept = set()
    total = float(total)
    for i in range(1, ORDER):  # gram length i + 1
        for w, v in ngrams[i].items():
            if v < min_count:
                continue
            pmi = min(
                total * v / (ngrams[j][w[:j + 1]] * ngrams[i - j - 1][w[j + 1:]])
                for j in range(i)
            )
            if math.log(pmi) >= THRESHOLDS[i]:
                kept.add(w)
    return kept


class Trie:
    """The post's SimpleTrie: cut where no kept gram joins two neighbours."""

    def __init__(self, words):
        self.root = {}
        for w in words:
            node = self.root
            for c in w:
                node = node.setdefault(c, {})
            node[True] = w

    def tokenize(self, sent):
        result = []
        start, end = 0, 1
        for i in range(len(sent)):
            node = self.root
            if i == end:
                result.append(sent[start:end])
                start, end = i, i + 1
            for j in range(i, len(sent)):
                c = sent[j]
                if c not in node:
                    break
                node = node[c]
                if True in node and j + 1 > end:
                    end = j + 1
        result.append(sent[start:end])
        return result


def back_check(word, kept):
    n = len(word)
    if n < 3:
        return True
    if n <= ORDER:
        return word in kept
    return all(word[k:k + ORDER] in kept for k in range(n + 1 - ORDER))


def main():
    src, dst = sys.argv[1], sys.argv[2]
    min_count = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    ngrams = count_ngrams(src)
    total = sum(ngrams[0].values())
    kept = filter_ngrams(ngrams, total, min_count)
    del ngrams
    trie = Trie(kept)
    candidates = {}
    for t in texts(src):
        for w in trie.tokenize(t):
            candidates[w] = candidates.get(w, 0) + 1
    words = {w: c for w, c in candidates.items() if c >= min_count and back_check(w, kept)}
    with open(dst, "w", encoding="utf-8", newline="\n") as f:
        for w, c in sorted(words.items(), key=lambda x: (-x[1], x[0])):
            f.write(f"{w}\t{c}\n")


if __name__ == "__main__":
    main()
