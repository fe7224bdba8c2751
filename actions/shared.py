"""A process-wide instance created on first use (never at import time), replaceable in tests."""

from __future__ import annotations

from typing import Callable, Generic, Optional, TypeVar

T = TypeVar("T")


class Shared(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._instance: Optional[T] = None

    def get(self) -> T:
        if self._instance is None:
            self._instance = self._factory()
        return self._instance

    def use(self, replacement: Optional[T]) -> None:
        """Use `replacement` from now on; None goes back to a fresh default on next use."""
        self._instance = replacement
