"""Secrets in URLs and HTTP headers: ``scheme://user:password@host``, signed query strings
(``sig=``, ``X-Amz-Signature=``), ``Cookie:``/``Set-Cookie:`` values; and the masking of
URLs and headers that ``shipper config show`` prints.

URL credentials need ``://``, a user part without ``@``/``:`` and a ``:`` before the ``@``
of the authority, so ``user@host``, ``host:port`` and ``git@github.com:org/repo`` are kept.
Only the password is replaced (``postgres://app:[REDACTED]@db:5432``).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from shipper.filters.textrule import TextRule

#: how ``config show`` prints a value hidden inside a URL or header (the redaction marker;
#: whole ``SecretStr`` settings print as pydantic's ``**********``)
MASK = "[REDACTED]"
_SLASHES = r"(?:\\?/){2}"  # ``//`` or JSON-escaped ``\/\/``
_USER = r"[^\s:/?#@\"'<>\\]*"
#: RE2 (and ``re``) pre-check: a ``:`` inside the authority before an ``@``
URL_PASSWORD_SCAN = rf":{_SLASHES}[^\x00\s:/?#@\"'<>\\]*:[^\x00\s/?#\"'<>\\]+@"
_SIGNED = "sig|signature|x-amz-signature|x-goog-signature"
URL_SIGNATURE_SCAN = rf"[?&;](?i:{_SIGNED})="
_QUOTED = r"\\\"(?:[^\"\\]|\\[^\"])*\\\"|\"(?:[^\"\\]|\\.)*\"|'[^']*'"
_SECRET_PARAMS = frozenset({
    "password", "passwd", "pwd", "secret", "token", "apikey", "key", "accesstoken",
    "refreshtoken", "idtoken", "clientsecret", "sig", "signature", "xamzsignature",
    "xamzcredential", "xamzsecuritytoken", "xgoogsignature", "xgoogcredential", "code",
    "auth", "authorization", "session", "sessionid", "ddapikey", "sharedaccesskey",
})
_SECRET_NAME_PARTS = ("auth", "token", "secret", "passw", "pwd", "apikey", "cookie",
                      "signature", "credential", "session", "accesskey")


def url_rules(value: str) -> list[TextRule]:
    """``url_password``, ``url_signature``, ``cookie`` (``value``: the ``key=value`` value
    pattern of :mod:`shipper.filters.secrets`, one group)."""
    return [
        TextRule("cookie", re.compile(
            r"\b(?:set-)?cookie(?:\\?[\"'])?(?:\s*:\s*(" + _QUOTED + r"|[^\s\"'\\][^\r\n\"'\\]*)"
            r"|\s*=\s*" + value + ")"), group=(1, 2), lower=True, needles=("cookie",)),
        TextRule("url_password", re.compile(
            rf"\b[a-z][a-z0-9+.-]*:{_SLASHES}{_USER}:([^\s/?#\"'<>\\]+)@"), group=1, lower=True,
            gate=re.compile(URL_PASSWORD_SCAN).search, scan=URL_PASSWORD_SCAN),
        TextRule("url_signature", re.compile(rf"[?&;](?:{_SIGNED})=([^&\s#\"'\\]+)"), group=1,
                 lower=True, gate=re.compile(URL_SIGNATURE_SCAN).search, scan=URL_SIGNATURE_SCAN),
    ]


def _normal(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def secret_param(name: str) -> bool:
    """A query parameter whose value is a credential (``api_key``, ``sig``, ``X-Amz-Signature``)."""
    normal = _normal(name)
    return normal in _SECRET_PARAMS or normal.endswith(("token", "secret", "password", "apikey"))


def secret_header(name: str) -> bool:
    """A header whose value is a credential (``Authorization``, ``X-Api-Key``, ``Cookie``)."""
    normal = _normal(name)
    return any(part in normal for part in _SECRET_NAME_PARTS) or normal.endswith("key")


def mask_url(url: str) -> str:
    """``url`` with its password (or a lone user part) and secret query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK if "@" in url or "?" in url else url
    netloc, query = parts.netloc, parts.query
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, has_password, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if has_password else f"{MASK}@{host}"
    pairs = parse_qsl(query, keep_blank_values=True) if query else []
    if any(secret_param(key) for key, _ in pairs):
        query = urlencode([(k, MASK if secret_param(k) else v) for k, v in pairs],
                          quote_via=quote, safe="[]")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
