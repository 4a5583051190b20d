from __future__ import annotations

import pytest

from evalkit.scoring.extract import extract_last_number, extract_regex, normalize_number

STRICT = r"#### (\-?[$0-9.,]+)"


@pytest.mark.parametrize(("text", "want"), [
    ("The answer is 42.", "42"),
    ("#### 42", "42"),
    ("**42**", "42"),
    ("42 apples", "42"),
    ("She pays $1,234.50 in total", "1234.5"),
    ("-7 degrees", "-7"),
    ("First 3, then 4, so 12", "12"),
])
def test_last_number(text, want):
    assert normalize_number(extract_last_number(text)) == want


def test_no_number():
    assert extract_last_number("I don't know") is None


@pytest.mark.parametrize(("text", "want"), [
    ("steps...\n#### 18", "18"),
    ("#### 1,000", "1000"),
    ("#### $5.", "5"),
    ("The answer is 18", None),
])
def test_strict(text, want):
    assert normalize_number(extract_regex(text, STRICT, select="last")) == want
