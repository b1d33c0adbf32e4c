"""Request counters per Google method id, HTTP status and caller."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._by_method: Counter[str] = Counter()
        self._by_status: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._by_user: Counter[str] = Counter()

    def record(self, method: str, status: int, user: str) -> None:
        self._by_method[method] += 1
        self._by_status[method][str(status)] += 1
        self._by_user[user] += 1

    def count(self, method: str, status: int | None = None) -> int:
        if status is None:
            return self._by_method[method]
        return self._by_status[method][str(status)]

    def snapshot(self) -> dict[str, Any]:
        """``{"total", "by_method": {m: n}, "by_method_status": {m: {"200": n}}, "by_user": {u: n}}``"""
        return {
            "total": sum(self._by_method.values()),
            "by_method": dict(self._by_method),
            "by_method_status": {m: dict(c) for m, c in self._by_status.items()},
            "by_user": dict(self._by_user),
        }
