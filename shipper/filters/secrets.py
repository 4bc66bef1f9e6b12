"""Built-in secret detectors: one :class:`TextRule` per kind, in the order they run.

Each rule has a cheap ``gate`` (substring checks) so a string is only searched by the
rules that could possibly match it, and an optional ``valid`` check on the match (Luhn
for card numbers, a ``user:pass`` shape for Basic credentials) to keep false positives out.
The generic rules (keys named like secrets, headers, JWTs, PEM blocks, cards) are here;
the families are in ``secrets_urls.py``, ``secrets_cloud.py`` and ``secrets_vendors.py``.
"""

from __future__ import annotations

import base64
import binascii
import re

from shipper.filters.prescan import CARD_CANDIDATE_SCAN
from shipper.filters.secrets_cloud import cloud_rules
from shipper.filters.secrets_urls import url_rules
from shipper.filters.secrets_vendors import vendor_rules
from shipper.filters.textrule import (
    REDACTED_PREFIX,
    Gate,
    TextRule,
    Valid,
    flatten,
    minimal_needles,
)

__all__ = ["REDACTED_PREFIX", "Gate", "TextRule", "Valid", "builtin_rules", "flatten",
           "minimal_needles"]

_SCHEMES = r"(?:bearer|basic|digest|token|negotiate|apikey|aws4-hmac-sha256)\s+"
#: a value after ``key=`` / ``key:``: quoted (also JSON-escaped quotes), else up to a delimiter
_VALUE = (
    r"(?!\\?[\"']?\[(?:REDACTED|redacted))"
    r"(\\\"(?:[^\"\\]|\\[^\"])*\\\"|\"(?:[^\"\\]|\\.)*\"|'[^']*'"
    rf"|(?:{_SCHEMES})?[^\s\"',;&]+)"
)
#: every rule name, in the order the rules run (``redact.disable`` takes these)
RULE_NAMES = (
    "private_key", "authorization", "cookie", "secret_key", "url_password", "url_signature",
    "jwt", "bearer", "aws_secret_key", "aws_access_key_id", "azure_key", "github_token",
    "gitlab_token", "slack_token", "stripe_key", "anthropic_key", "openai_key", "npm_token",
    "google_api_key", "twilio_key", "sendgrid_key", "vault_token", "digitalocean_token",
    "pypi_token", "docker_token", "card_number",
)


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


def builtin_rules(secret_keys: list[str]) -> list[TextRule]:
    """Every built-in text rule, in application order (:data:`RULE_NAMES`)."""
    names = key_names(secret_keys)
    cookie, url_password, url_signature = url_rules(_VALUE)
    rules = [
        TextRule("private_key", re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)", re.DOTALL),
            literals=("-----BEGIN",)),
        TextRule("authorization", re.compile(
            rf"\b(?:proxy-)?authorization\\?[\"']?\s*[:=]\s*{_VALUE}"), group=1, lower=True,
            needles=("authorization",)),
        cookie,
    ]
    if names:
        rules.append(TextRule("secret_key", re.compile(
            rf"(?:{names})\\?[\"']?\s*[:=]\s*{_VALUE}"), group=1, lower=True,
            needles=minimal_needles(secret_keys)))
    rules += [
        url_password, url_signature,
        TextRule("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
                 literals=("eyJ",)),
        TextRule("bearer", re.compile(r"\b(bearer|basic)\s+(?!\[redacted)([a-z0-9._~+/=-]{8,})"),
                 group=2, lower=True, valid=bearer_ok, needles=("bearer", "basic")),
        *cloud_rules(), *vendor_rules(),
        TextRule("card_number", re.compile(r"(?<![\w.-])[2-6]\d(?:[ -]?\d){11,17}(?![\w-]|\.\d)"),
                 valid=card_ok, gate=has_digit_run, scan=CARD_CANDIDATE_SCAN, text_scan=CARD_SCAN,
                 hit_scan=CARD_HIT_SCAN),
    ]
    return rules


#: RE2 superset of the ``card_number`` regex in a text on its own (ASCII classes in the
#: negated boundaries accept more than ``\w``; ``^``/``$``/NUL stand for the text's edges)
CARD_SCAN = r"(?:^|[^0-9A-Za-z_.-])[2-6][0-9](?:[ -]?[0-9]){11,17}(?:[^0-9A-Za-z_-]|$)"
#: the same without its right edge, to tell *which* texts match: a match may begin on
#: the NUL before its text (its left edge) and never takes the NUL after it
CARD_HIT_SCAN = r"(?:^|[^0-9A-Za-z_.-])[2-6][0-9](?:[ -]?[0-9]){11,17}"
_DIGIT_MAP = bytes(48 if 48 <= c <= 57 else c for c in range(256))


def has_digit_run(text: str) -> bool:
    """True when ``text`` holds 13+ digits in a row once spaces and dashes are removed."""
    data = text.encode("utf-8", "replace").translate(_DIGIT_MAP, b" -")
    return b"0000000000000" in data


EMAIL_RULE = TextRule(
    "email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    literals=("@",))
