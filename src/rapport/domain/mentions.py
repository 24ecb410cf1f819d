"""@mentions (DESIGN §2): who a message body mentions.

- `@handle` mentions that member only if they take part in the conversation; any other
  `@word` stays plain text (so an e-mail address or a stranger's handle mentions no one).
- Handles match case-insensitively; a trailing `.` or `-` (end of a sentence) is not part
  of the handle unless a participant's handle really ends so.
- At most 20 distinct members per message (`too_many_mentions`); mentioning someone twice
  counts once.
- An edit notifies only those it newly mentions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rapport.domain.errors import Invalid
from rapport.domain.limits import MAX_MENTIONS
from rapport.domain.model import MemberId

_MENTION = re.compile(r"(?<![\w@.+-])@([A-Za-z0-9][A-Za-z0-9_.-]*)")


def mentioned(body: str, participants: Mapping[str, MemberId]) -> tuple[MemberId, ...]:
    """The participants `body` mentions, in order of first mention (`participants`: handle -> id)."""
    found: dict[MemberId, None] = {}
    for match in _MENTION.finditer(body):
        word = match.group(1).lower()
        member = participants.get(word)
        if member is None:
            member = participants.get(word.rstrip(".-"))
        if member is not None:
            found[member] = None
    if len(found) > MAX_MENTIONS:
        raise Invalid(f"A message may mention at most {MAX_MENTIONS} members.", code="too_many_mentions")
    return tuple(found)


def newly_mentioned(before: Iterable[MemberId], after: Iterable[MemberId]) -> tuple[MemberId, ...]:
    """Members an edit mentions that the previous body did not: only they are notified."""
    old = set(before)
    return tuple(m for m in after if m not in old)
