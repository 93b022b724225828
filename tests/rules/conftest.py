"""Fixtures for the rules tests: the shipped book and its default program."""

import pytest

from rules import load_book


@pytest.fixture(scope="session")
def book():
    return load_book()


@pytest.fixture(scope="session")
def program(book):
    return book.get("2024-01-01-default")
