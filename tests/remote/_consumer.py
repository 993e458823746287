"""A consumer in its own process: ``python -m tests.remote._consumer URL STREAM START``.

It reads one run (until a stop document) through RemoteDispatcher, validates every
document with event_model, and prints a JSON summary: counts, names, a digest of the
documents in order, callback errors. ``--sleep S`` makes every event take S seconds;
``--progress FILE`` writes the number of events seen so far into FILE.
"""

from __future__ import annotations

import argparse
import json
import sys

from livescan.remote import RemoteDispatcher
from livescan.testing import DocumentValidator
from tests.remote._digest import Digest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("stream")
    ap.add_argument("start")
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--progress", default=None)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()

    import time

    validator = DocumentValidator()
    digest = Digest()
    events = 0

    def slow(name, doc):
        nonlocal events
        if name != "event":
            return
        events += 1
        if args.sleep:
            time.sleep(args.sleep)
        if args.progress:
            with open(args.progress, "w") as f:
                f.write(str(events))

    d = RemoteDispatcher(args.url, args.stream, start=args.start)
    d.subscribe(validator)
    d.subscribe(digest)
    d.subscribe(slow)
    print("ready", flush=True)
    n = d.start(runs=1, timeout=args.timeout)
    summary = {
        "received": n,
        "duplicates": d.duplicates,
        "names": digest.counts,
        "digest": digest.hexdigest(),
        "runs": validator.runs,
        "validated": validator.count,
        "errors": [f"{label}: {exc!r}" for label, exc in d.errors],
    }
    print(json.dumps(summary), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
