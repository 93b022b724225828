"""How deeply JSON text nests, found without parsing it: the check before anything recurses.

json.loads, marshmallow, copy.deepcopy and the order parser all recurse once per level (or
more), so a document a few hundred levels deep ran out of stack in one of them (a 500 with a
traceback of 163 KB). Nothing the service reads needs more than a handful of levels.
"""

from __future__ import annotations

import re

MAX_DEPTH = 64

# a string (skipped whole: brackets inside it are text) or one bracket. A string left open
# runs to the end of the text: with the closing quote required, every quote of such a string
# started a scan to the end again, and 64 KB of escaped quotes took 17 s of a worker.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_OPEN = frozenset(b"[{")


def nested_deeper_than(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """True when arrays and objects in `text` nest more than `limit` levels deep.

    Linear in the text; text with no more than `limit` brackets is not even scanned. Text
    that is not valid JSON may be misjudged, but the parser refuses it anyway.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for token in _TOKENS.finditer(data):
        first = token.group()[0]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif first != 0x22:  # a closing bracket; 0x22 is the quote that opens a string
            depth -= 1
    return False
