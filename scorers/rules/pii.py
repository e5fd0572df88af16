"""PII detection: emails, phones, payment cards (Luhn), IBANs (mod-97), IPs, national ids.

Candidates are found with precompiled regular expressions; numbers with check digits are
then validated with ``python-stdnum`` (Luhn, IBAN mod-97 with per-country lengths, SSN
rules) and addresses with :mod:`ipaddress`, which is what keeps false positives down.
Each finding is a span ``{"start", "end", "entity"}`` so a guardrail can redact it; the
matched text itself is never put in the score (it would end up in traces).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.br import cpf as _cpf
from stdnum.ca import sin as _sin
from stdnum.es import dni as _dni
from stdnum.in_ import aadhaar as _aadhaar
from stdnum.us import ssn as _ssn

from scorers.base import Score, Scorer, ScorerError
from scorers.rules.redact import detection_score


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


def _valid_card(s: str) -> bool:
    d = _digits(s)
    return 13 <= len(d) <= 19 and d[0] in "23456" and _luhn.is_valid(d)


def _valid_ssn(s: str) -> bool:
    return _ssn.is_valid(s)


def _valid_ipv4(s: str) -> bool:
    try:
        ipaddress.IPv4Address(s)
    except ValueError:
        return False
    return True


def _valid_ipv6(s: str) -> bool:
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


_PHONE_PREFIX = re.compile(r"^(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?")


def _valid_phone(s: str) -> bool:
    if _DOTTED_QUAD.fullmatch(s):  # an (invalid) IPv4 address, not a phone number
        return False
    # After the country code and area code, a phone number uses one kind of separator;
    # mixed ones ("390.533.447-06") are other identifiers.
    rest = s[_PHONE_PREFIX.match(s).end():]  # type: ignore[union-attr]
    if len({ch for ch in rest if ch in " .-"}) > 1:
        return False
    n = len(_digits(s))
    return (8 if s.startswith("+") else 10) <= n <= 15


def _word_before(text: str, i: int) -> bool:
    return i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")


def _digit_before(text: str, i: int) -> bool:
    return i > 0 and (text[i - 1].isdigit() or text[i - 1] == "-")


@dataclass(frozen=True, slots=True)
class Detector:
    """One entity type: a candidate regex, an optional validator and cheap prefilters.

    Patterns start with a literal or a character class, never a lookbehind: ``re`` then
    skips ahead quickly, which is most of the speed on long texts. The left boundary is
    checked in Python on the (rare) candidates instead.
    """

    entity: str
    pattern: re.Pattern[str]
    validate: Callable[[str], bool] | None = None
    # A substring that every match contains: skips the regex on texts without it.
    needle: str | None = None
    # Reject a match whose preceding character makes it part of a longer token.
    left: Callable[[str, int], bool] | None = _word_before
    # Numeric entities are searched only inside runs of digits and separators.
    numeric: bool = False
    # Searched only in the runs of these characters around each occurrence of ``needle``
    # (IPv6: hex digits and colons around a colon), found with str.find at C speed.
    around: frozenset[str] | None = None

    def find(self, text: str, regions: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
        """(start, end) of every validated match in ``text`` (within ``regions`` if numeric)."""
        if self.needle is not None and self.needle not in text:
            return []
        if self.numeric and regions is not None:
            matches = [m for a, b in regions for m in self.pattern.finditer(text, a, b)]
        elif self.around is not None and self.needle is not None:
            matches = [m for a, b in _runs_around(text, self.needle, self.around)
                       for m in self.pattern.finditer(text, a, b)]
        else:
            matches = list(self.pattern.finditer(text))
        out = []
        for m in matches:
            start = m.start()
            if self.left is not None and self.left(text, start):
                continue
            # Regions end before a letter, which a lookahead cannot see past endpos.
            end = m.end()
            if self.numeric and end < len(text) and (text[end].isalnum() or text[end] == "_"):
                continue
            if self.validate is None or self.validate(m.group(0)):
                out.append((start, m.end()))
            elif self.entity == "IBAN":
                # A greedy match may have swallowed a following word: retry shorter.
                span = _shorter_iban(m.group(0))
                if span:
                    out.append((start, start + span))
        return out


def _runs_around(text: str, needle: str, chars: frozenset[str]) -> list[tuple[int, int]]:
    """Maximal runs of ``chars`` that contain ``needle`` (which must be one of ``chars``)."""
    runs = []
    i = text.find(needle)
    n = len(text)
    while i != -1:
        a = i
        while a > 0 and text[a - 1] in chars:
            a -= 1
        b = i + 1
        while b < n and text[b] in chars:
            b += 1
        runs.append((a, b))
        i = text.find(needle, b)
    return runs


def _shorter_iban(candidate: str) -> int | None:
    parts = candidate.split(" ")
    for k in range(len(parts) - 1, 1, -1):
        prefix = " ".join(parts[:k])
        if _iban.is_valid(prefix):
            return len(prefix)
    return None


_NINO_UNUSED_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Runs of digits with the separators numbers are written with: where numeric PII can be.
_NUMERIC_REGION = re.compile(r"\d[\d .()+/-]{5,}\d")


def numeric_regions(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that may hold a card, SSN, phone number or IPv4 address."""
    out = []
    for m in _NUMERIC_REGION.finditer(text):
        a = m.start()
        # A phone number may open with "+" or "(" just before the first digit.
        while a > 0 and text[a - 1] in "+(":
            a -= 1
        out.append((a, m.end()))
    return out


DETECTORS: dict[str, Detector] = {
    "email": Detector(
        "EMAIL",
        # Bounded like RFC 5321 (64-char local part, 63-char labels) so a long run of
        # address-like characters cannot make the scan quadratic.
        re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
                   r"\.[A-Za-z]{2,24}(?![\w-])"),
        needle="@", left=lambda t, i: i > 0 and (t[i - 1].isalnum() or t[i - 1] in "._%+-"),
    ),
    "credit_card": Detector(
        "CREDIT_CARD", re.compile(r"\d(?:[ -]?\d){12,18}(?![\d-])"), _valid_card,
        left=_digit_before, numeric=True,
    ),
    "iban": Detector(
        "IBAN",
        re.compile(r"[A-Z][A-Z]\d\d(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])"),
        _iban.is_valid,
    ),
    "us_ssn": Detector(
        "US_SSN", re.compile(r"\d{3}-\d{2}-\d{4}(?![\d-])"), _valid_ssn,
        needle="-", left=_digit_before, numeric=True,
    ),
    "uk_nino": Detector(
        "UK_NINO",
        re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"),
        lambda s: s[:2] not in _NINO_UNUSED_PREFIXES,
    ),
    "ipv6": Detector(
        "IPV6",
        re.compile(r"(?:[0-9A-Fa-f]{1,4}:|:){2,7}(?:[0-9A-Fa-f]{1,4}|:)(?![\w:])"),
        _valid_ipv6, needle=":", left=lambda t, i: i > 0 and (t[i - 1].isalnum() or t[i - 1] in "_:."),
        around=frozenset("0123456789abcdefABCDEF:"),
    ),
    "ipv4": Detector(
        "IPV4", re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)"), _valid_ipv4,
        needle=".", left=lambda t, i: i > 0 and (t[i - 1].isalnum() or t[i - 1] in "_."),
        numeric=True,
    ),
    "phone": Detector(
        "PHONE",
        re.compile(
            r"(?:\+\d{8,15}"
            r"|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}"
            r")(?!\w)"
        ),
        _valid_phone, left=lambda t, i: i > 0 and (t[i - 1].isalnum() or t[i - 1] in "_+"),
        numeric=True,
    ),
}

#: National ids checked only when asked for (``pii([..., "in_aadhaar"])``): their number
#: shapes are common in other data, so each is validated with its check digits.
OPTIONAL_DETECTORS: dict[str, Detector] = {
    "ca_sin": Detector("CA_SIN", re.compile(r"\d{3}[ -]\d{3}[ -]\d{3}(?![\d-])"), _sin.is_valid,
                       left=_digit_before, numeric=True),
    "in_aadhaar": Detector("IN_AADHAAR", re.compile(r"[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}(?![\d-])"),
                           _aadhaar.is_valid, left=_digit_before, numeric=True),
    "br_cpf": Detector("BR_CPF", re.compile(r"\d{3}\.\d{3}\.\d{3}-\d{2}(?![\d-])"), _cpf.is_valid,
                       left=_digit_before, numeric=True),
    "es_dni": Detector("ES_DNI", re.compile(r"\d{8}-?[A-Z](?![A-Za-z0-9])"), _dni.is_valid,
                       left=_digit_before),
}

#: The entities checked by default, in the order they are checked (earlier wins an overlap).
ENTITIES = tuple(DETECTORS)
#: Every entity ``pii()`` knows.
ALL_ENTITIES = (*ENTITIES[:-1], *OPTIONAL_DETECTORS, ENTITIES[-1])  # phone stays last
_ALL = {**DETECTORS, **OPTIONAL_DETECTORS}


class PII(Scorer):
    """Finds PII in ``output``; ``value`` is True when any is found, ``passed`` when none."""

    default_name = "pii"
    higher_is_better = False  # value True means PII was found

    def __init__(
        self,
        entities: Iterable[str] | None = None,
        custom: Mapping[str, str | re.Pattern[str]] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        chosen = set(entities) if entities is not None else set(ENTITIES)
        unknown = sorted(e for e in chosen if e not in _ALL)
        if unknown:
            raise ScorerError(f"pii: unknown entities {unknown}; known: {list(ALL_ENTITIES)}")
        # A fixed order whatever the caller's: the loosest pattern (phone) goes last.
        dets = [_ALL[e] for e in ALL_ENTITIES if e in chosen]
        for label, pattern in (custom or {}).items():
            try:
                compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
            except re.error as exc:
                raise ScorerError(f"pii: custom pattern {label!r} does not compile: {exc}") from exc
            dets.append(Detector(label.upper(), compiled))
        if not dets:
            raise ScorerError("pii: no entities to detect")
        self.detectors = tuple(dets)
        self._numeric = any(d.numeric for d in dets)

    def find(self, text: str) -> list[dict[str, Any]]:
        """Non-overlapping findings, earlier detectors first, sorted by position."""
        taken: list[tuple[int, int]] = []
        spans: list[dict[str, Any]] = []
        regions = numeric_regions(text) if self._numeric else None
        for det in self.detectors:
            for start, end in det.find(text, regions):
                if any(start < e and s < end for s, e in taken):
                    continue
                taken.append((start, end))
                spans.append({"start": start, "end": end, "entity": det.entity})
        spans.sort(key=lambda s: s["start"])
        return spans

    def _score(self, output: Any) -> Score:
        if not isinstance(output, str):
            output = "" if output is None else str(output)
        return detection_score(self, self.find(output), "entities")


def pii(
    entities: Iterable[str] | None = None,
    *,
    custom: Mapping[str, str | re.Pattern[str]] | None = None,
    name: str | None = None,
    column_map: Mapping[str, str] | None = None,
) -> PII:
    """Detect PII in ``output``. ``entities`` picks from :data:`ALL_ENTITIES` (default:
    :data:`ENTITIES`); ``custom`` adds ``{"LABEL": regex}`` patterns (e.g. employee ids)."""
    return PII(entities, custom, name=name, column_map=column_map)
