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

Gate = Callable[[str, str], bool]  # (text, lowercased text) -> may match

REDACTED_PREFIX = "[REDACTED"
_SCHEMES = r"(?:bearer|basic|digest|token|negotiate|apikey|aws4-hmac-sha256)\s+"
#: a value after ``key=`` / ``key:``: quoted (also JSON-escaped quotes), else up to a delimiter
_VALUE = (
    r"(?!\\?[\"']?\[REDACTED)"
    r"(\\\"(?:[^\"\\]|\\[^\"])*\\\"|\"(?:[^\"\\]|\\.)*\"|'[^']*'"
    rf"|(?:{_SCHEMES})?[^\s\"',;&}}\])]+)"
)


@dataclass(frozen=True)
class TextRule:
    """Replace group ``group`` of every match of ``pattern`` that passes ``valid``."""

    name: str
    pattern: re.Pattern[str]
    group: int = 0
    gate: Gate | None = None
    valid: Callable[[re.Match[str]], bool] | None = None
    trigger: str = ""  # regex fragment for the combined "could anything match" pre-check


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


def card_ok(match: re.Match[str]) -> bool:
    text = match.group(0)
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


def bearer_ok(match: re.Match[str]) -> bool:
    scheme, token = match.group(1).lower(), match.group(2)
    if scheme == "basic":
        return _basic_ok(token)
    return len(token) >= 20 or not token.isalpha()


def key_names(secret_keys: list[str]) -> str:
    """Key names as one alternation; ``_``/``-`` in a name are optional separators."""
    names = sorted({k.lower().replace("-", "_") for k in secret_keys}, key=len, reverse=True)
    return "|".join("[_-]?".join(re.escape(p) for p in name.split("_")) for name in names)


def _has(*needles: str) -> Gate:
    return lambda text, low: any(n in text for n in needles)


def _has_lower(*needles: str) -> Gate:
    return lambda text, low: any(n in low for n in needles)


def builtin_rules(secret_keys: list[str]) -> list[TextRule]:
    """Every built-in text rule, in application order."""
    names = key_names(secret_keys)
    names_re = re.compile(rf"(?i){names}") if names else None
    rules = [
        TextRule("private_key", re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.DOTALL), gate=_has("PRIVATE KEY"), trigger="PRIVATE KEY"),
        TextRule("authorization", re.compile(
            rf"(?i)\b(?:proxy-)?authorization\\?[\"']?\s*[:=]\s*{_VALUE}"), group=1,
            gate=_has_lower("authorization"), trigger="(?i:authorization)"),
    ]
    if names_re is not None:
        rules.append(TextRule("secret_key", re.compile(
            rf"(?i)(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]*?(?:{names})\\?[\"']?\s*[:=]\s*{_VALUE}"),
            group=1, gate=lambda text, low: names_re.search(text) is not None,
            trigger=f"(?i:{names})"))
    rules += [
        TextRule("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
                 gate=_has("eyJ"), trigger="eyJ"),
        TextRule("bearer", re.compile(r"(?i)\b(bearer|basic)\s+(?!\[REDACTED)([A-Za-z0-9._~+/=-]{8,})"),
                 group=2, gate=_has_lower("bearer", "basic"), valid=bearer_ok,
                 trigger=r"(?i:bearer|basic)\s"),
        TextRule("aws_access_key_id", re.compile(
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b"),
            trigger=r"A[A-Z]{3}[A-Z0-9]{16}"),
        TextRule("aws_secret_key", re.compile(
            r"(?i)aws[A-Za-z0-9_.-]{0,30}?(?:secret|sk)[A-Za-z0-9_.-]*\\?[\"']?\s*[:=]\s*\\?[\"']?"
            r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"), group=1, gate=_has_lower("aws"),
            trigger="(?i:aws)"),
        TextRule("github_token", re.compile(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
            gate=_has("gh", "github_pat_"), trigger="gh[pousr]_|github_pat_"),
        TextRule("slack_token", re.compile(
            r"\bxox[abposre]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]+"),
            gate=_has("xox", "hooks.slack.com"), trigger=r"xox|hooks\.slack"),
        TextRule("google_api_key", re.compile(
            r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])|\bya29\.[0-9A-Za-z_-]{20,}"),
            gate=_has("AIza", "ya29."), trigger=r"AIza|ya29\."),
        TextRule("card_number", re.compile(r"(?<![\w.-])[2-6]\d(?:[ -]?\d){11,17}(?![\w-]|\.\d)"),
                 valid=card_ok, trigger=r"\d(?:[ -]?\d){12}"),
    ]
    return rules


EMAIL_RULE = TextRule(
    "email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    gate=_has("@"), trigger="@")
