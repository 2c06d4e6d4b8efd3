"""French text normalisation for lexical matching and explanations.

Award data is dirty: accents lost upstream (``R�habilitation``), capitals, HTML
entities. ``repair`` makes such a text readable again (``�`` is almost always a lost
``é``); ``tokens`` folds accents, drops stop words and stems (Snowball, French).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

from matcher.data.fields import decode_entities

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\s+[-–—]\s+")

# Function words plus procurement boilerplate that says nothing about what is bought.
STOPWORDS = frozenset(
    """
    a au aux avec ce ces cet cette dans de des du elle en et eux il ils je la le les leur leurs
    lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son
    sur ta te tes toi ton tu un une vos votre vous y d l n s t c j m qu est sont ete etre avoir
    ont a afin ainsi aupres autre autres chez comme dont entre hors lors non plus sans selon sous
    tout tous toute toutes tres via vers the of and to for in on with
    lot lots marche marches accord cadre accords procedure consultation prestation prestations
    objet relatif relative relatifs relatives concernant service services fourniture fournitures
    mise mission missions annee annees ans n°
    """.split()
)


def repair(text: str) -> str:
    """Readable text: HTML entities unescaped, white space collapsed, lost accents guessed."""
    return decode_entities(text).replace("\ufffd", "é")


def fold(text: str) -> str:
    """Lower-case ASCII: accents removed, ``œ`` → ``oe``, lost accents read as ``e``."""
    text = repair(text).lower().replace("œ", "oe").replace("æ", "ae")
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    # a text holds a handful of distinct combining marks: delete each (C-level ``replace``) rather
    # than test every character (6× faster on French descriptions, same result)
    for ch in set(decomposed):
        if ch > "\x7f" and unicodedata.combining(ch):
            decomposed = decomposed.replace(ch, "")
    return decomposed


@lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("french")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The French Snowball stem of a folded word."""
    return _stemmer().stemWord(word)


def words(text: str) -> list[str]:
    """Folded words without stop words (no stemming): the terms a person recognises."""
    # ``_is_term``'s test, inlined: this runs on every word of every document the lexical index reads
    return [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def _is_term(word: str) -> bool:
    """A folded word that carries meaning (what ``words`` keeps): not a stop word, two letters or more, or a number."""
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())


_WRITTEN_WORD = re.compile(r"[^\W_]+")


def written_words(text: str) -> list[tuple[str, str]]:
    """``words`` of the text, each with its form as written (lower case, accents kept): what to show a person."""
    out = []
    for raw in _WRITTEN_WORD.findall(repair(text).lower()):
        pieces = _WORD.findall(fold(raw))
        for piece in pieces:
            if _is_term(piece):
                out.append((piece, raw if len(pieces) == 1 else piece))
    return out


def tokens(text: str) -> list[str]:
    """Lexical tokens: folded, stop words removed, stemmed."""
    return [stem(w) for w in words(text) if not w.isdigit() or len(w) >= 4]


def plain_tokens(text: str) -> list[str]:
    """Lower-cased word tokens, nothing removed: the search-engine default (baseline BM25)."""
    return re.findall(r"\w+", text.lower())


def sentences(text: str) -> list[str]:
    """Split a description into sentences (for evidence snippets)."""
    parts = [p.strip() for p in _SENTENCE.split(repair(text)) if p.strip()]
    return parts or ([repair(text)] if text.strip() else [])


def region_key(region: str) -> str:
    """How regions compare: folded (``Île-de-France`` = ``ile-de-france``); ranking features, filters and explanations all use it."""
    return fold(region)


def same_region(a: str, b: str) -> bool:
    """Whether two region names are the same region (both given, equal once folded)."""
    key = region_key(a)
    return bool(key) and region_key(b) == key
