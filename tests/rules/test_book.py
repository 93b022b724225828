"""The book of versions: a rule change is a new file, taking over at its exact instant."""

import copy
import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rules import ProgramBook, ProgramError, evaluate, load_book, load_program
from rules.book import PROGRAMS
from tests.support.rules_orders import RICH, an_order

WINTER = Path(__file__).parent / "programs" / "winter.json"
WINTER_STARTS = datetime(2024, 11, 30, 21, 0, tzinfo=UTC)  # 2024-12-01 00:00 Moscow
ONE_MICROSECOND = timedelta(microseconds=1)


@pytest.fixture
def folder(tmp_path):
    """A program folder with the shipped default and the winter version beside it."""
    for path in (*PROGRAMS.glob("*.json"), WINTER):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def write(folder: Path, name: str, data: dict) -> None:
    (folder / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def delivery_accrual(book, now) -> Decimal:
    program = book.in_force(now)
    return evaluate(program, an_order("delivery", "1000.00"), RICH,
                    zone_min_order=Decimal("500.00"), now=now).accrual


def test_the_shipped_book_holds_the_default_program(book):
    assert book.versions == ("2024-01-01-default",)
    assert book.in_force(datetime(2030, 1, 1, tzinfo=UTC)).version == "2024-01-01-default"


def test_a_new_file_changes_the_rules_without_a_code_change(folder):
    book = load_book(folder)
    assert book.versions == ("2024-01-01-default", "2024-12-01-winter")
    assert delivery_accrual(book, datetime(2024, 11, 1, tzinfo=UTC)) == Decimal("30.00")
    assert delivery_accrual(book, datetime(2024, 12, 15, tzinfo=UTC)) == Decimal("50.00")


def test_the_later_version_takes_over_exactly_at_its_instant(folder):
    book = load_book(folder)
    assert book.in_force(WINTER_STARTS - ONE_MICROSECOND).version == "2024-01-01-default"
    assert book.in_force(WINTER_STARTS).version == "2024-12-01-winter"
    assert book.in_force(WINTER_STARTS.astimezone()).version == "2024-12-01-winter"


def test_an_old_order_is_explained_by_its_own_version(folder):
    book = load_book(folder)
    assert book.get("2024-01-01-default").version == "2024-01-01-default"
    with pytest.raises(KeyError, match="2023"):
        book.get("2023-01-01")


def test_there_is_no_program_before_the_first_version(book):
    with pytest.raises(ProgramError, match="no program is in force"):
        book.in_force(datetime(2023, 12, 31, 20, 59, tzinfo=UTC))


def test_in_force_needs_an_aware_moment(book):
    with pytest.raises(ValueError, match="aware"):
        book.in_force(datetime(2025, 1, 1))


def test_two_files_with_one_version_are_refused(folder):
    data = json.loads(WINTER.read_text(encoding="utf-8"))
    data.update(version="2024-01-01-default", effective_from="2024-01-01T00:00:00+03:00")
    write(folder, "winter.json", data)
    with pytest.raises(ProgramError) as refused:
        load_book(folder)
    assert refused.value.path == "version"
    assert "also the version of 2024-01-01-default.json" in str(refused.value)


def test_two_versions_starting_at_the_same_instant_are_refused(folder):
    data = json.loads(WINTER.read_text(encoding="utf-8"))
    data["effective_from"] = "2023-12-31T21:00:00+00:00"  # the default's start, told in UTC
    data["version"] = "winter"
    write(folder, "winter.json", data)
    with pytest.raises(ProgramError, match=r"winter\.json: effective_from: equals the effective"):
        load_book(folder)


def test_one_bad_file_keeps_the_whole_book_from_loading(folder):
    data = json.loads(WINTER.read_text(encoding="utf-8"))
    broken = copy.deepcopy(data)
    broken["version"], broken["effective_from"] = "2025-06-01", "2025-06-01T00:00:00+03:00"
    broken["accrual"][0]["percent"] = "150"
    write(folder, "2025-06-01.json", broken)
    with pytest.raises(ProgramError, match=r"2025-06-01\.json: accrual\[0\]\.percent"):
        load_book(folder)


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(ProgramError, match="no program files"):
        load_book(tmp_path)


def test_a_book_can_be_built_from_programs_in_any_order(folder):
    programs = [load_program(WINTER), load_program(PROGRAMS / "2024-01-01-default.json")]
    assert ProgramBook(programs).versions == ("2024-01-01-default", "2024-12-01-winter")
    assert len(ProgramBook(programs)) == 2


def test_a_version_named_for_another_day_than_it_starts_is_refused(folder):
    """A file copied and re-dated in one place but not the other: «2025-06-01-summer» from
    2026-06-01 would be published under one date and applied from another."""
    data = json.loads(WINTER.read_text(encoding="utf-8"))
    data.update(version="2025-06-01-summer", effective_from="2026-06-01T00:00:00+03:00")
    write(folder, "summer.json", data)
    with pytest.raises(ProgramError, match=r"summer\.json: version: is named for 2025-06-01 but "
                                           r"effective_from starts it on 2026-06-01"):
        load_book(folder)


def test_a_version_named_for_its_local_day_may_start_in_utc(folder):
    data = json.loads(WINTER.read_text(encoding="utf-8"))
    data.update(version="2025-06-01-summer", effective_from="2025-05-31T21:00:00Z")
    write(folder, "summer.json", data)
    assert "2025-06-01-summer" in [p.version for p in load_book(folder)]
