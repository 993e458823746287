"""A digest of documents in order, equal in two processes iff they saw the same documents."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from livescan.documents import dumps


class Digest:
    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.counts: Counter[str] = Counter()
        self.documents = 0

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        self._hash.update(name.encode())
        self._hash.update(dumps(doc, sort_keys=True).encode())
        self.counts[name] += 1
        self.documents += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
