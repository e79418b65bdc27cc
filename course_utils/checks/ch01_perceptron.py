"""Checkers of chapter 01 (filled in by that chapter)."""

__all__: list[str] = []
