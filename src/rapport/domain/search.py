"""Rules for searching one's own history (DESIGN §3): what a query may be, its words, and the snippet.

User text is never passed to a full-text engine as query syntax: the query is cut into words
(runs of letters and digits) and each word is quoted by the store. Quotes, `*`, `(`, `NEAR`,
`-`, `:` or `^` are therefore either separators or plain words, never operators.
"""

from __future__ import annotations

import html
import re

from rapport.domain.errors import Invalid

QUERY_MAX = 200
MAX_TERMS = 16
SNIPPET_CONTEXT = 60
MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"

_WORD = re.compile(r"[^\W_]+")


def check_query(q: str) -> str:
    """The query to search for: not blank, at most 200 characters, no NUL bytes."""
    if "\x00" in q:
        raise Invalid("A search may not contain NUL characters.", code="invalid_query")
    q = q.strip()
    if not q:
        raise Invalid("Say what to search for: q is empty.", code="query_required")
    if len(q) > QUERY_MAX:
        raise Invalid(f"A search has at most {QUERY_MAX} characters.", code="query_too_long")
    return q


def terms(q: str) -> list[str]:
    """The distinct lower-cased words of a query, in order, at most 16; each is matched as a prefix."""
    found = list(dict.fromkeys(w.casefold() for w in _WORD.findall(q)))
    return found[:MAX_TERMS]


def snippet(body: str, words: list[str]) -> str:
    """An HTML-safe extract around the first matching word, matches wrapped in <mark>.

    Every character of the body is escaped; only the markers are markup.
    """
    spans = [(m.start(), m.end()) for m in _WORD.finditer(body) if _matches(m.group(), words)]
    if spans:
        start = max(spans[0][0] - SNIPPET_CONTEXT, 0)
        end = min(spans[0][1] + SNIPPET_CONTEXT * 2, len(body))
    else:
        start, end = 0, min(len(body), SNIPPET_CONTEXT * 3)
    out = ["…" if start > 0 else ""]
    at = start
    for first, last in spans:
        if first < start or last > end:
            continue
        out += [html.escape(body[at:first]), MARK_OPEN, html.escape(body[first:last]), MARK_CLOSE]
        at = last
    out.append(html.escape(body[at:end]))
    out.append("…" if end < len(body) else "")
    return "".join(out)


def _matches(word: str, words: list[str]) -> bool:
    folded = word.casefold()
    return any(folded.startswith(w) for w in words)


BM25_K1, BM25_B = 1.2, 0.75


def best_first(candidates: list[tuple[int, str]], words: list[str]) -> list[int]:
    """The ids of `(id, body)` candidates, best match first: bm25's term-frequency and length
    part (k1 1.2, b 0.75, lengths relative to the candidates' mean), a word counting each
    word of the body it is a prefix of; ties newest (highest id) first.

    Every candidate holds every word, so bm25's inverse document frequency, the same for all
    of them, changes no order and is left out: computing it is what cost FTS5 a second pass
    over each word's whole posting list (store/search.py)."""
    if not candidates:
        return []
    lengths: dict[int, int] = {}
    frequencies: dict[int, list[int]] = {}
    for mid, body in candidates:
        tokens = [t.casefold() for t in _WORD.findall(body)]
        lengths[mid] = len(tokens)
        frequencies[mid] = [sum(t.startswith(w) for t in tokens) for w in words]
    mean = max(sum(lengths.values()) / len(lengths), 1.0)

    def score(mid: int) -> float:
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[mid] / mean)
        return float(sum(tf * (BM25_K1 + 1) / (tf + norm) for tf in frequencies[mid] if tf))

    return sorted((mid for mid, _ in candidates), key=lambda mid: (-score(mid), -mid))
