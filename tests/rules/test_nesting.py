"""JSON nesting is measured without parsing, and a program file nested too deeply is a
ProgramError, not a RecursionError."""

import pytest

from rules import ProgramError, load_program
from rules.nesting import MAX_DEPTH, nested_deeper_than


@pytest.mark.parametrize(
    ("text", "deeper"),
    [
        ("[" * 64 + "]" * 64, False),
        ("[" * 65 + "]" * 65, True),
        ('{"a": "' + "[" * 500 + '"}', False),  # brackets inside a string are text
        ('["\\"' + "{" * 100 + '", ' + "[" * 10 + "]" * 10 + "]", False),  # an escaped quote
        ("[{}]" * 500, False),  # many brackets side by side, none deep
    ],
)
def test_depth_is_counted_outside_strings(text, deeper):
    assert nested_deeper_than(text) is deeper
    assert nested_deeper_than(text.encode()) is deeper


def test_a_program_file_nested_too_deeply_is_a_program_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"version": "x", "accrual": ' + "[" * 2000 + "]" * 2000 + "}")
    with pytest.raises(ProgramError, match=f"nested deeper than {MAX_DEPTH}"):
        load_program(path)


def test_a_string_left_open_is_read_once_to_the_end_not_once_per_quote():
    """32,000 escaped quotes in a string never closed, then 65 brackets: each quote used to
    start a scan to the end (17 s for 64 KB, from anyone), and the brackets after the last
    failed scan counted as nesting. They are text of the open string; the parser refuses it."""
    body = b'{"phone":"' + b'\\"' * 32_000 + b"[" * 65
    assert not nested_deeper_than(body)
    assert nested_deeper_than(b'{"phone":"' + b'\\"' * 10 + b'", "x": ' + b"[" * 65)
