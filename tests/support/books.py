"""Program books that differ from the shipped one in what a test is about."""

from __future__ import annotations

import copy

import rules


def a_book(program: rules.Program, **expiry) -> rules.ProgramBook:
    """A book of `program` alone with its expiry settings (and `timezone`) replaced."""
    data = copy.deepcopy(program.data)
    data.update(timezone=expiry.pop("timezone", data["timezone"]))
    data["expiry"] = {**data["expiry"], **expiry}
    return rules.ProgramBook([rules.load_program(data)])
