"""Checkers of chapter 11 compression."""

__all__: list[str] = []
