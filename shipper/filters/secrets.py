"""Built-in secret detectors: one :class:`TextRule` per kind, in the order they run.

Each rule has a cheap ``gate`` (substring checks) so a string is only searched by the
rules that could possibly match it, and an optional ``valid`` check on the match (Luhn
for card numbers, a ``user:pass`` shape for Basic credentials) to keep false positives out.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Callable

Gate = Callable[[str], bool]  # text -> may match
Valid = Callable[[str, str], bool]  # (whole match, secret part) of the original text -> redact

REDACTED_PREFIX = "[REDACTED"
_SCHEMES = r"(?:bearer|basic|digest|token|negotiate|apikey|aws4-hmac-sha256)\s+"
#: a value after ``key=`` / ``key:``: quoted (also JSON-escaped quotes), else up to a delimiter
_VALUE = (
    r"(?!\\?[\"']?\[(?:REDACTED|redacted))"
    r"(\\\"(?:[^\"\\]|\\[^\"])*\\\"|\"(?:[^\"\\]|\\.)*\"|'[^']*'"
    rf"|(?:{_SCHEMES})?[^\s\"',;&]+)"
)


@dataclass(frozen=True)
class TextRule:
    """Replace group ``group`` of every match of ``pattern`` that passes ``valid``.

    ``lower`` rules are written in lower case and searched in the lower-cased text (much
    faster than ``(?i)`` in ``re``). Cheap pre-checks, any of which lets the rule run:
    ``needles`` are lower-case substrings without ``-``/``_`` one of which every match
    contains once the text is lower-cased and stripped of ``-``/``_``; ``literals`` are
    case-sensitive substrings; ``gate`` is any test. A rule with none is always searched.
    ``scan`` is an RE2 pattern matching (at least) every text the ``gate`` lets through,
    for the batch pre-scan of raw lines (:mod:`shipper.filters.prescan`); it must not match
    NUL. ``text_scan`` (default ``scan``) is an RE2 pattern matching every text in which
    ``pattern`` finds a match, searched in the record's texts joined with NUL (the
    record pre-check); it may use the separators as the edges of a text.
    """

    name: str
    pattern: re.Pattern[str]
    group: int = 0
    gate: Gate | None = None
    valid: Valid | None = None
    lower: bool = False
    needles: tuple[str, ...] = ()
    literals: tuple[str, ...] = ()
    scan: str | None = None
    text_scan: str | None = None

    @property
    def always(self) -> bool:
        return not (self.needles or self.literals or self.gate)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_prefix_ok(digits: str) -> bool:
    """Issuer prefixes of payment cards (Visa, Mastercard, Amex, Discover, JCB, Diners,
    UnionPay, Maestro); keeps compact dates and most ids from looking like cards."""
    if digits[0] in "46":
        return True
    if digits[0] == "5":
        return digits[1] in "012345678"
    if digits[0] == "3":
        return digits[1] in "0456789"
    return digits[0] == "2" and 2221 <= int(digits[:4]) <= 2720


def _groups_ok(text: str) -> bool:
    groups = re.split(r"[ -]", text)
    if len(groups) == 1:
        return True
    if len({sep for sep in text if sep in " -"}) > 1:
        return False
    sizes = tuple(len(g) for g in groups)
    return sizes in ((4, 6, 5), (4, 6, 4)) or (
        all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4)


def card_ok(text: str, secret: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return (13 <= len(digits) <= 19 and card_prefix_ok(digits) and _groups_ok(text)
            and luhn_ok(digits))


def card_int_ok(value: int) -> bool:
    digits = str(value)
    return 13 <= len(digits) <= 19 and card_prefix_ok(digits) and luhn_ok(digits)


def _basic_ok(credential: str) -> bool:
    try:
        decoded = base64.b64decode(credential + "=" * (-len(credential) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def bearer_ok(whole: str, token: str) -> bool:
    if whole[:5].lower() == "basic":
        return _basic_ok(token)
    return len(token) >= 20 or not token.isalpha()


def key_names(secret_keys: list[str]) -> str:
    """Lower-case key names as one alternation; ``_``/``-`` in a name are optional."""
    names = sorted({k.lower().replace("-", "_") for k in secret_keys}, key=len, reverse=True)
    return "|".join("[_-]?".join(re.escape(p) for p in name.split("_")) for name in names)


def flatten(text: str) -> str:
    """Lower-case without ``-`` and ``_`` (what ``needles`` are looked up in)."""
    return text.lower().replace("_", "").replace("-", "")


def minimal_needles(words: list[str]) -> tuple[str, ...]:
    """Flattened ``words`` minus those containing another one (same pre-check, fewer scans)."""
    flat = {flatten(word) for word in words}
    return tuple(sorted(w for w in flat if not any(o != w and o in w for o in flat)))


def builtin_rules(secret_keys: list[str]) -> list[TextRule]:
    """Every built-in text rule, in application order."""
    names = key_names(secret_keys)
    rules = [
        TextRule("private_key", re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.DOTALL), literals=("-----BEGIN",)),
        TextRule("authorization", re.compile(
            rf"\b(?:proxy-)?authorization\\?[\"']?\s*[:=]\s*{_VALUE}"), group=1, lower=True,
            needles=("authorization",)),
    ]
    if names:
        rules.append(TextRule("secret_key", re.compile(
            rf"(?:{names})\\?[\"']?\s*[:=]\s*{_VALUE}"), group=1, lower=True,
            needles=minimal_needles(secret_keys)))
    rules += [
        TextRule("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
                 literals=("eyJ",)),
        TextRule("bearer", re.compile(r"\b(bearer|basic)\s+(?!\[redacted)([a-z0-9._~+/=-]{8,})"),
                 group=2, lower=True, valid=bearer_ok, needles=("bearer", "basic")),
        TextRule("aws_access_key_id", re.compile(
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b"),
            gate=re.compile("A[BCGIKNPRS][A-Z]A").search, scan="A[BCGIKNPRS][A-Z]A"),
        TextRule("aws_secret_key", re.compile(
            r"aws[a-z0-9_. -]{0,30}?(?:secret|sk)[a-z0-9_.-]*\\?[\"']?\s*[:=]\s*\\?[\"']?"
            r"([a-z0-9/+]{40})(?![a-z0-9/+])"), group=1, lower=True, needles=("aws",)),
        TextRule("github_token", re.compile(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
            gate=re.compile("gh[pousr]_|github_pat_").search, scan="gh[pousr]_|github_pat_"),
        TextRule("slack_token", re.compile(
            r"\bxox[abposre]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]+"),
            literals=("xox", "hooks.slack.com")),
        TextRule("google_api_key", re.compile(
            r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])|\bya29\.[0-9A-Za-z_-]{20,}"),
            literals=("AIza", "ya29.")),
        TextRule("card_number", re.compile(r"(?<![\w.-])[2-6]\d(?:[ -]?\d){11,17}(?![\w-]|\.\d)"),
                 valid=card_ok, gate=has_digit_run, scan=DIGIT_RUN_SCAN, text_scan=CARD_SCAN),
    ]
    return rules


#: RE2 form of :func:`has_digit_run`
DIGIT_RUN_SCAN = "[0-9](?:[ -]*[0-9]){12}"
#: RE2 superset of the ``card_number`` regex in a text on its own (ASCII classes in the
#: negated boundaries accept more than ``\w``; ``^``/``$``/NUL stand for the text's edges)
CARD_SCAN = r"(?:^|[^0-9A-Za-z_.-])[2-6][0-9](?:[ -]?[0-9]){11,17}(?:[^0-9A-Za-z_-]|$)"
_DIGIT_MAP = bytes(48 if 48 <= c <= 57 else c for c in range(256))


def has_digit_run(text: str) -> bool:
    """True when ``text`` holds 13+ digits in a row once spaces and dashes are removed."""
    data = text.encode("utf-8", "replace").translate(_DIGIT_MAP, b" -")
    return b"0000000000000" in data


EMAIL_RULE = TextRule(
    "email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    literals=("@",))
