"""The book of program versions: which one is in force at an instant, and any by its id."""

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from rules.errors import ProgramError
from rules.expiry import burns_at
from rules.load import load_program
from rules.program import Program

PROGRAMS = Path(__file__).resolve().parent / "programs"


class ProgramBook:
    """Program versions ordered by effective date; each is in force until the next begins."""

    def __init__(self, programs: Iterable[Program], sources: Iterable[str] | None = None):
        programs = list(programs)
        sources = list(sources) if sources is not None else [p.version for p in programs]
        _refuse_clashes(programs, sources)
        self._programs = sorted(programs, key=lambda p: p.effective_from)
        self._starts = [p.effective_from.astimezone(UTC) for p in self._programs]
        self._by_version = {p.version: p for p in self._programs}

    @property
    def versions(self) -> tuple[str, ...]:
        """Version ids, earliest effective date first."""
        return tuple(p.version for p in self._programs)

    def in_force(self, now: datetime) -> Program:
        """The version effective at `now` (aware); a later one takes over at its exact instant."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be an aware datetime")
        index = bisect_right(self._starts, now.astimezone(UTC)) - 1
        if index < 0:
            raise ProgramError("effective_from", f"no program is in force at {now.isoformat()}")
        return self._programs[index]

    def between(self, start: datetime, end: datetime) -> list[Program]:
        """The versions in force at some instant of [start, end] (aware), the earliest first."""
        first = max(bisect_right(self._starts, start.astimezone(UTC)) - 1, 0)
        last = bisect_right(self._starts, end.astimezone(UTC))
        return self._programs[first:max(last, first + 1)]

    def burns_at(self, last_activity: datetime, now: datetime) -> datetime:
        """When a balance idle since `last_activity` burns, counting the versions published
        for later: the first instant at which the version then in force has it burned. (Under
        one version a balance has burned by t exactly when t >= rules.burns_at; a later version
        with fewer idle months can bring the date forward to its own start.)"""
        index = max(bisect_right(self._starts, now.astimezone(UTC)) - 1, 0)
        for i in range(index, len(self._programs)):
            program = self._programs[i]
            at = max(burns_at(program, last_activity), self._starts[i])
            if i + 1 == len(self._programs) or at < self._starts[i + 1]:
                return at.astimezone(program.timezone)
        raise AssertionError("the last version decides")  # pragma: no cover

    def get(self, version: str) -> Program:
        """The version with this id (an old order is explained by its own version); KeyError."""
        try:
            return self._by_version[version]
        except KeyError:
            raise KeyError(f"no program version {version!r}") from None

    def __iter__(self):
        return iter(self._programs)

    def __len__(self) -> int:
        return len(self._programs)


def load_book(directory: str | Path | None = None) -> ProgramBook:
    """Every *.json program in `directory` (default: rules/programs), all valid or none loaded."""
    folder = Path(directory) if directory is not None else PROGRAMS
    files = sorted(folder.glob("*.json"))
    if not files:
        raise ProgramError("", f"no program files (*.json) in {folder}")
    return ProgramBook([load_program(path) for path in files], [path.name for path in files])


def _refuse_clashes(programs: list[Program], sources: list[str]) -> None:
    """Two files with one version id, or one start instant, would make in_force ambiguous."""
    seen_versions: dict[str, str] = {}
    seen_starts: dict[datetime, str] = {}
    for program, source in zip(programs, sources, strict=True):
        start = program.effective_from.astimezone(UTC)
        if program.version in seen_versions:
            raise ProgramError("version", f"{program.version!r} is also the version of "
                               f"{seen_versions[program.version]}", source)
        if start in seen_starts:
            raise ProgramError("effective_from", f"equals the effective date of "
                               f"{seen_starts[start]}; each version needs its own", source)
        seen_versions[program.version] = source
        seen_starts[start] = source
