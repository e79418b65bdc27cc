"""Checkers for chapter 12 (training at scale) — placeholder until the chapter lands."""

__all__: list[str] = []
