"""Cloud credentials: AWS access key ids and secret access keys, Azure account and
shared access keys.

An AWS secret access key is 40 characters of base64 with nothing to recognise it by, so
it is only replaced in context: within 100 characters after or before ``aws``,
``secret`` or an AWS access key id, and when it looks generated (upper and lower case
letters and digits, not a hex digest such as a git SHA, not a path). A bare 40-character
value elsewhere in a record that holds an access key id is replaced too
(:func:`aws_secret_shape`, used by the record pass of the redactor).
"""

from __future__ import annotations

import re

from shipper.filters.textrule import TextRule

KEY_ID_PREFIXES = "AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA"
KEY_ID_SCAN = "A[BCGIKNPRS][A-Z]A"
_KEY_ID = rf"\b(?:{KEY_ID_PREFIXES})[A-Z0-9]{{16}}\b"
_CONTEXT = re.compile(rf"(?i:aws|secret)|{_KEY_ID}")
_CONTEXT_CHARS = 100
_B64_40 = r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
_WHOLE_40 = re.compile(r"[A-Za-z0-9/+]{40}")
_HEX = frozenset("0123456789abcdefABCDEF")


def aws_secret_shape(whole: str, secret: str) -> bool:
    """40 base64 characters that look generated: both cases and a digit, at most four
    ``/`` and no ``//`` (paths), not all hex (digests)."""
    return (len(secret) == 40 and any(c.isupper() for c in secret)
            and any(c.islower() for c in secret) and any(c.isdigit() for c in secret)
            and secret.count("/") <= 4 and "//" not in secret
            and not _HEX.issuperset(secret))


def aws_context_near(text: str, start: int, end: int) -> bool:
    """``aws``, ``secret`` or an access key id within 100 characters of the candidate (on
    its line)."""
    before = text[max(0, start - _CONTEXT_CHARS):start].rpartition("\n")[2]
    after = text[end:end + _CONTEXT_CHARS].partition("\n")[0]
    return _CONTEXT.search(before) is not None or _CONTEXT.search(after) is not None


def is_bare_aws_secret(value: str) -> bool:
    """A whole value that is an AWS secret access key by shape alone."""
    return _WHOLE_40.fullmatch(value) is not None and aws_secret_shape(value, value)


def cloud_rules() -> list[TextRule]:
    """``aws_secret_key`` (before the key id it uses as context), ``aws_access_key_id``,
    ``azure_key``."""
    return [
        TextRule("aws_secret_key", re.compile(_B64_40), valid=aws_secret_shape,
                 near=aws_context_near, needles=("aws", "secret"),
                 gate=re.compile(KEY_ID_SCAN).search, scan=KEY_ID_SCAN),
        TextRule("aws_access_key_id", re.compile(_KEY_ID),
                 gate=re.compile(KEY_ID_SCAN).search, scan=KEY_ID_SCAN),
        TextRule("azure_key", re.compile(
            r"\b(?:accountkey|sharedaccesskey|sharedsecret)\s*=\s*([^;\s\"'\\]+)"), group=1,
            lower=True, needles=("accountkey", "sharedaccesskey", "sharedsecret")),
    ]
