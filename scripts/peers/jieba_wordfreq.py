#!/usr/bin/env python3
"""Python peer of `nlp-text wordfreq`: jieba==0.42.1 `jieba.lcut` (HMM on), counted per batch of
1000 texts and merged into one total, in one process (the final method of the post
"什么时候多进程的加速比可以大于1?"), for `cargo xtask bench text`.

Usage: python3 scripts/peers/jieba_wordfreq.py INPUT OUTPUT
Writes word<TAB>count sorted by count descending, then word; whitespace tokens are skipped.
"""
import sys
from collections import Counter

import jieba

BATCH = 1000


def lines(path):
    with open(path, encoding="utf-8", errors="strict") as f:
        for line in f:
            yield line.rstrip("\r\n")


def main():
    jieba.setLogLevel(60)
    jieba.initialize()
    total = Counter()
    batch = Counter()
    n = 0
    for line in lines(sys.argv[1]):
        batch.update(w for w in jieba.lcut(line) if w.strip())
        n += 1
        if n % BATCH == 0:
            total.update(batch)
            batch = Counter()
    total.update(batch)
    with open(sys.argv[2], "w", encoding="utf-8", newline="\n") as f:
        for w, c in sorted(total.items(), key=lambda x: (-x[1], x[0])):
            f.write(f"{w}\t{c}\n")


if __name__ == "__main__":
    main()
