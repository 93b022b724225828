"""Menu categories as tills write them: one code each, recognised by its label and aliases."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from rules import schema
from rules.errors import ProgramError

# case, spaces, hyphens and underscores, ё/е: what tills write differently for one category
_SEPARATORS = re.compile(r"[\s_\-\u2010-\u2015]+")


@lru_cache(maxsize=4096)  # a till sends the same few labels all day; the bound keeps junk out
def normalise(label: str) -> str:
    """The form two labels of one category share: `Business_Lunch`, `business-lunch ` and
    `BUSINESS LUNCH` are all `business_lunch`; «Бизнес-ланч» is `бизнес_ланч`."""
    return _SEPARATORS.sub("_", label.casefold().replace("ё", "е")).strip("_")


@dataclass(frozen=True)
class Categories:
    """The program's categories: `labels` (code → published name) and `codes` (every
    normalised code, label and alias → its code)."""

    labels: Mapping[str, str]
    codes: Mapping[str, str]

    def code_of(self, label: str) -> str:
        """The category a till's label stands for; a label the program does not know is kept
        as written (no condition can name it: the loader refuses unknown categories)."""
        return self.codes.get(normalise(label), label)


def read(value: object) -> Categories:
    """`{"business_lunch": "Бизнес-ланч"}` or `{"business_lunch": {"label": "Бизнес-ланч",
    "aliases": ["Бизнес-ланчи"]}}`; a label or alias that two categories share is refused,
    naming both, since an order holding it could not be told to either."""
    section = schema.section(value, "categories", set(),
                             set(value) if isinstance(value, dict) else set())
    labels: dict[str, str] = {}
    codes: dict[str, str] = {}
    for code, entry in section.items():
        path = f"categories.{code}"
        label, aliases = _entry(entry, path)
        labels[code] = label
        names = [(code, path), (label, f"{path}.label" if isinstance(entry, dict) else path)]
        names += [(alias, f"{path}.aliases[{i}]") for i, alias in enumerate(aliases)]
        for name, at in names:
            key = normalise(name)
            if not key:
                raise ProgramError(at, "must hold a letter or a digit")
            other = codes.setdefault(key, code)
            if other != code:
                raise ProgramError(at, f"{name!r} names both {other!r} and {code!r}: a till "
                                   "writing it could not be told which")
    return Categories(labels, codes)


def _entry(entry: object, path: str) -> tuple[str, list[str]]:
    if isinstance(entry, str):
        return schema.text(entry, path), []
    found = schema.section(entry, path, {"label"}, {"aliases"})
    label = schema.text(found["label"], f"{path}.label")
    aliases = schema.listing(found.get("aliases", []), f"{path}.aliases", empty=True)
    return label, [schema.text(a, f"{path}.aliases[{i}]") for i, a in enumerate(aliases)]
