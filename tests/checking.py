"""What the checker tests share (imported by tests/test_checks_*.py)."""


def fails(checker, fn, *words) -> str:
    """Run ``checker`` on the wrong ``fn``: it must fail, and its report must contain every
    one of ``words`` (the message that names the mistake). Returns the report."""
    result = checker(fn, verbose=False)
    text = "\n".join(result.messages)
    assert not result.passed, f"{fn.__name__} should fail"
    assert all(w in text for w in words), text
    return text
