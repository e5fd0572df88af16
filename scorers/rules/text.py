"""Text rule scorers: exact match, contains, regex, prefixes/suffixes, refusal, banned words."""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scorers.base import Score, Scorer, ScorerError

_PUNCT_TABLE = str.maketrans("", "", string.punctuation)
_WS = re.compile(r"\s+")


def _text(value: Any, field: str, scorer: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | bool):
        return str(value)
    raise ScorerError(f"scorer {scorer!r}: field {field!r} must be text, got {type(value).__name__}")


class Normalizer:
    """Text normalization shared by the matching scorers."""

    def __init__(
        self,
        *,
        case_sensitive: bool = True,
        strip: bool = True,
        collapse_whitespace: bool = False,
        ignore_punctuation: bool = False,
        unicode_nfkc: bool = False,
    ) -> None:
        self.case_sensitive = case_sensitive
        self.strip = strip
        self.collapse_whitespace = collapse_whitespace
        self.ignore_punctuation = ignore_punctuation
        self.unicode_nfkc = unicode_nfkc

    def __call__(self, text: str) -> str:
        """Normalize ``text`` per the options."""
        if self.unicode_nfkc:
            text = unicodedata.normalize("NFKC", text)
        if not self.case_sensitive:
            text = text.casefold()
        if self.ignore_punctuation:
            text = text.translate(_PUNCT_TABLE)
        if self.collapse_whitespace:
            text = _WS.sub(" ", text)
        if self.strip:
            text = text.strip()
        return text


class ExactMatch(Scorer):
    """``output`` equals ``expected`` (or any of a list of expected answers) after normalization."""

    required = ("output", "expected")
    default_name = "exact_match"

    def __init__(self, *, normalizer: Normalizer, **kw: Any) -> None:
        super().__init__(**kw)
        self.normalizer = normalizer

    def _score(self, output: Any, expected: Any) -> Score:
        out = self.normalizer(_text(output, "output", self.name))
        candidates = expected if isinstance(expected, list | tuple) else [expected]
        for cand in candidates:
            if out == self.normalizer(_text(cand, "expected", self.name)):
                return self.make_score(True)
        return self.make_score(False, "output differs from expected")


def exact_match(
    *,
    case_sensitive: bool = True,
    strip: bool = True,
    collapse_whitespace: bool = False,
    ignore_punctuation: bool = False,
    unicode_nfkc: bool = False,
    name: str | None = None,
    column_map: Mapping[str, str] | None = None,
) -> ExactMatch:
    """``output == expected`` after the chosen normalization (a list of expected: any one)."""
    norm = Normalizer(
        case_sensitive=case_sensitive, strip=strip, collapse_whitespace=collapse_whitespace,
        ignore_punctuation=ignore_punctuation, unicode_nfkc=unicode_nfkc,
    )
    return ExactMatch(normalizer=norm, name=name, column_map=column_map)


class _Contains(Scorer):
    """Substring checks against fixed strings or, when none are given, the ``expected`` field."""

    optional = ("expected",)

    def __init__(
        self, needles: Sequence[str] | None, mode: str, *, case_sensitive: bool, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.needles = list(needles) if needles is not None else None
        self.mode = mode
        self.case_sensitive = case_sensitive

    def _score(self, output: Any, expected: Any = None) -> Score:
        text = _text(output, "output", self.name)
        needles = self.needles
        if needles is None:
            if expected is None:
                raise ScorerError(f"scorer {self.name!r}: give substrings or an 'expected' field")
            needles = list(expected) if isinstance(expected, list | tuple) else [expected]
            needles = [_text(n, "expected", self.name) for n in needles]
        if not self.case_sensitive:
            text = text.casefold()
            needles_cmp = [n.casefold() for n in needles]
        else:
            needles_cmp = needles
        found = [n for n, c in zip(needles, needles_cmp, strict=True) if c in text]
        missing = [n for n, c in zip(needles, needles_cmp, strict=True) if c not in text]
        ok = bool(found) if self.mode == "any" else not missing
        reason = None
        if not ok:
            reason = f"missing {missing!r}" if self.mode == "all" else f"none of {needles!r} found"
        return self.make_score(ok, reason, {"found": found, "missing": missing})


def contains(
    substring: str | None = None, *, case_sensitive: bool = True,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> Scorer:
    """``output`` contains ``substring`` (or the ``expected`` field when not given)."""
    needles = [substring] if substring is not None else None
    return _Contains(needles, "all", case_sensitive=case_sensitive,
                     name=name or "contains", column_map=column_map)


def contains_any(
    substrings: Iterable[str] | None = None, *, case_sensitive: bool = True,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> Scorer:
    """``output`` contains at least one of ``substrings`` (or of the ``expected`` list)."""
    needles = list(substrings) if substrings is not None else None
    return _Contains(needles, "any", case_sensitive=case_sensitive,
                     name=name or "contains_any", column_map=column_map)


def contains_all(
    substrings: Iterable[str] | None = None, *, case_sensitive: bool = True,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> Scorer:
    """``output`` contains every one of ``substrings`` (or of the ``expected`` list)."""
    needles = list(substrings) if substrings is not None else None
    return _Contains(needles, "all", case_sensitive=case_sensitive,
                     name=name or "contains_all", column_map=column_map)


class Regex(Scorer):
    """A regular expression on ``output``; match spans are reported for redaction."""

    default_name = "regex"

    def __init__(
        self, pattern: str | re.Pattern[str], *, flags: int = 0, fullmatch: bool = False,
        must_match: bool = True, label: str = "MATCH", **kw: Any,
    ) -> None:
        super().__init__(**kw)
        try:
            self.pattern = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
        except re.error as exc:
            raise ScorerError(f"regex {pattern!r} does not compile: {exc}") from exc
        self.fullmatch = fullmatch
        self.must_match = must_match
        self.label = label

    def _score(self, output: Any) -> Score:
        text = _text(output, "output", self.name)
        if self.fullmatch:
            matched = self.pattern.fullmatch(text) is not None
            spans = [{"start": 0, "end": len(text), "entity": self.label}] if matched else []
        else:
            spans = [
                {"start": m.start(), "end": m.end(), "entity": self.label}
                for m in self.pattern.finditer(text) if m.end() > m.start()
            ]
            matched = bool(spans)
        ok = matched if self.must_match else not matched
        reason = None
        if not ok:
            reason = (f"no match for /{self.pattern.pattern}/" if self.must_match
                      else f"{len(spans)} match(es) of /{self.pattern.pattern}/")
        meta: dict[str, Any] = {"matched": matched}
        if not self.must_match:
            meta["spans"] = spans
        return self.make_score(ok, reason, meta)


def regex(
    pattern: str | re.Pattern[str], *, flags: int = 0, fullmatch: bool = False,
    must_match: bool = True, label: str = "MATCH",
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> Regex:
    """Passes when ``pattern`` matches ``output`` (``must_match=False``: when it does not).

    With ``must_match=False`` the matches are reported as spans, so a guardrail with
    ``on_fail="redact"`` replaces them with ``[label]``.
    """
    return Regex(pattern, flags=flags, fullmatch=fullmatch, must_match=must_match,
                 label=label, name=name, column_map=column_map)


class _Affix(Scorer):
    optional = ("expected",)

    def __init__(self, affix: str | None, start: bool, *, case_sensitive: bool,
                 strip: bool, **kw: Any) -> None:
        super().__init__(**kw)
        self.affix, self.start = affix, start
        self.case_sensitive, self.strip = case_sensitive, strip

    def _score(self, output: Any, expected: Any = None) -> Score:
        text = _text(output, "output", self.name)
        affix = self.affix if self.affix is not None else expected
        if affix is None:
            raise ScorerError(f"scorer {self.name!r}: give a prefix/suffix or an 'expected' field")
        affixes = [_text(a, "expected", self.name) for a in (affix if isinstance(affix, list | tuple) else [affix])]
        if self.strip:
            text = text.strip()
        if not self.case_sensitive:
            text = text.casefold()
            affixes = [a.casefold() for a in affixes]
        ok = text.startswith(tuple(affixes)) if self.start else text.endswith(tuple(affixes))
        where = "start" if self.start else "end"
        return self.make_score(ok, None if ok else f"output does not {where} with {affixes!r}")


def starts_with(
    prefix: str | None = None, *, case_sensitive: bool = True, strip: bool = True,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> Scorer:
    """``output`` starts with ``prefix`` (or the ``expected`` field)."""
    return _Affix(prefix, True, case_sensitive=case_sensitive, strip=strip,
                  name=name or "starts_with", column_map=column_map)


def ends_with(
    suffix: str | None = None, *, case_sensitive: bool = True, strip: bool = True,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> Scorer:
    """``output`` ends with ``suffix`` (or the ``expected`` field)."""
    return _Affix(suffix, False, case_sensitive=case_sensitive, strip=strip,
                  name=name or "ends_with", column_map=column_map)


# Phrasings assistants use to decline; matched case-insensitively after apostrophe folding.
REFUSAL_PATTERNS = (
    r"\bi(?: am|'m) (?:sorry|afraid),? but\b",
    r"\bi (?:can ?not|can't|won't|will not|am unable to|'m unable to|am not able to|'m not able to) "
    r"(?:help|assist|provide|comply|do that|fulfil|fulfill|answer|share|create|generate|write|support)",
    r"\bi must (?:decline|refuse)\b",
    r"\bi(?:'m| am) not (?:comfortable|permitted|allowed)\b",
    r"\bas an ai(?: language model)?\b",
    r"\b(?:this|that) (?:request )?(?:goes against|violates) (?:my|our) (?:guidelines|policies|policy)\b",
    r"\bi(?:'m| am) unable to (?:help|assist|comply)\b",
    r"\bsorry, (?:but )?i can(?:'t|not)\b",
)


class Refusal(Scorer):
    """Detects a refusal in ``output``; ``value`` is True when the output refuses."""

    default_name = "refusal"

    def __init__(self, *, expect_refusal: bool = False, extra_patterns: Sequence[str] = (), **kw: Any) -> None:
        super().__init__(**kw)
        self.expect_refusal = expect_refusal
        self.pattern = re.compile("|".join(f"(?:{p})" for p in (*REFUSAL_PATTERNS, *extra_patterns)), re.I)

    def _score(self, output: Any) -> Score:
        text = _text(output, "output", self.name).replace("\u2019", "'")
        m = self.pattern.search(text)
        refused = m is not None
        ok = refused == self.expect_refusal
        reason = f"refusal phrase {m.group(0)!r}" if m else "no refusal phrase"
        return self.make_score(refused, reason, passed=ok)


def refusal(
    *, expect_refusal: bool = False, extra_patterns: Sequence[str] = (),
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> Refusal:
    """Is ``output`` a refusal? Passes when it matches ``expect_refusal`` (default: no refusal)."""
    return Refusal(expect_refusal=expect_refusal, extra_patterns=extra_patterns,
                   name=name, column_map=column_map)


class BannedWords(Scorer):
    """Fails when ``output`` contains a banned word/phrase; ``value`` is True when one is found."""

    default_name = "banned_words"
    higher_is_better = False  # value True means a banned word was found

    def __init__(self, words: Mapping[str, Iterable[str]], *, case_sensitive: bool,
                 whole_word: bool, **kw: Any) -> None:
        super().__init__(**kw)
        self.groups = {label: [w for w in ws if w] for label, ws in words.items()}
        if not any(self.groups.values()):
            raise ScorerError(f"scorer {self.name!r}: give at least one word")
        flags = 0 if case_sensitive else re.I
        parts = []
        self._labels: list[str] = []
        for i, (label, ws) in enumerate(self.groups.items()):
            alts = "|".join(re.escape(w) for w in sorted(ws, key=len, reverse=True))
            body = rf"(?<!\w)(?:{alts})(?!\w)" if whole_word else f"(?:{alts})"
            parts.append(f"(?P<g{i}>{body})")
            self._labels.append(label)
        self.pattern = re.compile("|".join(parts), flags)

    def _score(self, output: Any) -> Score:
        text = _text(output, "output", self.name)
        spans, found = [], {}
        for m in self.pattern.finditer(text):
            label = self._labels[int(m.lastgroup[1:])]  # type: ignore[index]
            spans.append({"start": m.start(), "end": m.end(), "entity": label.upper()})
            found.setdefault(label, []).append(m.group(0))
        hit = bool(spans)
        reason = f"found {', '.join(f'{k}: {v}' for k, v in found.items())}" if hit else None
        return self.make_score(hit, reason, {"found": sorted(found), "spans": spans}, passed=not hit)


def banned_words(
    words: Iterable[str], *, case_sensitive: bool = False, whole_word: bool = True,
    name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> BannedWords:
    """Fails when ``output`` contains any of ``words`` (whole words, case-insensitive by default)."""
    return BannedWords({"banned": list(words)}, case_sensitive=case_sensitive,
                       whole_word=whole_word, name=name, column_map=column_map)


def topics(
    topic_keywords: Mapping[str, Iterable[str]], *, case_sensitive: bool = False,
    whole_word: bool = True, name: str | None = None, column_map: Mapping[str, str] | None = None,
) -> BannedWords:
    """Fails when ``output`` touches a banned topic, each topic given by its keywords.

    ``metadata["found"]`` names the topics hit; spans are labelled with the topic name.
    """
    return BannedWords({k: list(v) for k, v in topic_keywords.items()}, case_sensitive=case_sensitive,
                       whole_word=whole_word, name=name or "topics", column_map=column_map)
