#!/usr/bin/env python3
"""Times Python's mailbox.mbox splitting the bench file, for a side-by-side ratio with
`cargo bench -p mailhub-mbox --bench split`.

Usage: python3 mbox/benches/python_split.py target/mbox/tmp/bench-512M.mbox [rust_bytes_per_s]

Splitting means building the table of contents (every message's start and stop offset), which
is what `mailbox.mbox.keys()` does, the same job as the Rust reader's "offsets" bench. The file
is read once before timing so that both run with a warm page cache.
"""
import mailbox
import os
import sys
import time

path = sys.argv[1]
size = os.path.getsize(path)
with open(path, "rb") as f:  # warm the page cache
    while f.read(1 << 24):
        pass
start = time.perf_counter()
mb = mailbox.mbox(path, create=False)
count = len(mb.keys())
elapsed = time.perf_counter() - start
rate = size / elapsed
print(f"python mailbox.mbox: {count} messages, {size / 2**20:.0f} MiB in {elapsed:.2f} s = {rate / 2**20:.1f} MiB/s")
if len(sys.argv) > 2:
    rust = float(sys.argv[2])
    print(f"ratio rust/python: {rust / rate:.1f}x")
