"""Text normalisation shared by the lexical index and exact phrase lookup."""

from __future__ import annotations

import re

_NON_WORD = re.compile(r"[^a-z0-9]+")
CM_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
PCS_CODE = re.compile(r"^[0-9A-HJ-NP-Z]{3,7}$")


def normalise(text: str) -> str:
    """Lower-case words and digits separated by single spaces; punctuation dropped."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def with_dot(code: str) -> str:
    """Canonical CM form (upper case, dot after the category) for user-typed codes."""
    bare = code.strip().upper().replace(".", "")
    return f"{bare[:3]}.{bare[3:]}" if len(bare) > 3 and bare[0].isalpha() else bare


def looks_like_code(text: str) -> bool:
    candidate = text.strip().upper()
    return bool(CM_CODE.match(candidate) or PCS_CODE.match(candidate))


def spelling_variants(term: str) -> list[str]:
    """The spellings an index term lists, comma-separated: "Infarct, infarction" -> both.

    Only parts sharing their first three letters with the first part are spellings; in
    "Acroasphyxia, chronic" or "atticoantral, chronic" the part after the comma is a
    modifier of the same term, so the whole term is its only spelling.
    """
    parts = [p.strip() for p in term.split(",") if p.strip()]
    if len(parts) < 2:
        return [term]
    stem = normalise(parts[0])[:3]
    if all(normalise(p)[:3] == stem for p in parts[1:]):
        return parts
    return [term]


_KEEP_S = re.compile(r"(ss|us|is|ys)$")


def singular(word: str) -> str:
    """A light plural strip of a normalised word ("fractures" -> "fracture", "abscess" kept)."""
    if len(word) > 3 and word.endswith("s") and not _KEEP_S.search(word):
        return word[:-1]
    return word
