"""Secret redaction of any text (the self-logger, ``explain``) and of whole records; the
filter stage that applies it to batches is :class:`shipper.filters.redact_stage.RedactStage`.

:class:`Redactor` is built once from :class:`RedactSettings`. :meth:`Redactor.redact_text`
runs the rules of :mod:`shipper.filters.secrets` over one string, each rule only when its
cheap pre-check says it could match. :meth:`Redactor.redact_record` scrubs every string a
record holds (see :mod:`shipper.filters.redact_walk`): top-level fields, attribute keys
and values at any depth, the ``k8s`` facts, ``file.path`` and the raw line; one RE2 pass
over all of them picks the few strings the rules must look at.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

from shipper.filters.prescan import (
    CARD_CANDIDATE_SCAN,
    SEPARATOR,
    BatchScan,
    Re2,
    compile_re2,
    escape,
    flexible,
)
from shipper.filters.redact_walk import RecordWalk, is_secret_value
from shipper.filters.secrets import (
    EMAIL_RULE,
    REDACTED_PREFIX,
    TextRule,
    builtin_rules,
    flatten,
    minimal_needles,
)
from shipper.filters.settings import RedactSettings
from shipper.record import Record

_MIN_LEN = 5
_KEY_CACHE_MAX = 4096
#: key names whose values are cookies (the ``cookie`` rule), whatever ``secret_keys`` says
_COOKIE_KEYS = ("cookie",)


def make_mask(settings: RedactSettings) -> Callable[[str], str]:
    """``secret -> "[REDACTED]"`` or, in hash mode, ``"[REDACTED:<8 hex of HMAC-SHA256>]"``."""
    if settings.replacement != "hash" or settings.hash_key is None:
        return lambda secret: "[REDACTED]"
    key = settings.hash_key.get_secret_value().encode()

    def mask(secret: str) -> str:
        digest = hmac.new(key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return f"[REDACTED:{digest.hexdigest()[:8]}]"

    return mask


def _user_rule(rule: Any) -> TextRule:
    return TextRule(rule.name, rule.pattern, group=rule.group)


class Redactor:
    """Scrubs secrets from text, values and records."""

    def __init__(self, settings: RedactSettings) -> None:
        disabled = set(settings.disable)
        rules = [r for r in builtin_rules(settings.secret_keys) if r.name not in disabled]
        if settings.mask_emails:
            rules.append(EMAIL_RULE)
        rules += [_user_rule(rule) for rule in settings.rules]
        self.rules = rules
        self.rule_names = frozenset(rule.name for rule in rules)
        self.mask = make_mask(settings)
        self.raw = settings.raw
        self._needles = minimal_needles([n for r in rules for n in r.needles])
        self._literals = tuple(sorted({lit for r in rules for lit in r.literals}))
        self._gates = [r.gate for r in rules if r.gate is not None]
        self._always = any(r.always for r in rules)
        self.cards = "card_number" not in disabled
        self.aws_pairs = "aws_secret_key" not in disabled and "aws_access_key_id" not in disabled
        self._ci = {r.name: re.compile(r.pattern.pattern, r.pattern.flags | re.IGNORECASE)
                    for r in rules if r.lower}
        self._key_rule = self._pick_key_rule(disabled)
        cookie_keys = _COOKIE_KEYS if "cookie" not in disabled else ()
        self._names = [flatten(k) for k in (*settings.secret_keys, *cookie_keys)]
        self._key_cache: dict[str, str | None] = {}
        needles = self._needle_parts(rules)
        self.scan = self._batch_scan(rules, needles)
        self._text_check = self._texts_check(rules, needles)
        self._text_scan = self._texts_scan(rules, needles)
        self._walk = RecordWalk(self)

    def _needle_parts(self, rules: list[TextRule]) -> list[str] | None:
        """RE2 alternatives for the needles and literals of the rules and the secret key
        names; ``None`` when a rule has no cheap pre-check (then no RE2 pre-check is built)."""
        if any(r.always or (r.gate is not None and r.scan is None) for r in rules):
            return None
        parts = [flexible(n) for n in minimal_needles([*self._needles, *self._names])]
        return parts + [escape(lit) for lit in self._literals]

    @staticmethod
    def _batch_scan(rules: list[TextRule], needles: list[str] | None) -> BatchScan | None:
        """One RE2 pattern matching every raw line any rule (or a secret-named key, a
        card-sized integer, a JSON escape) could need."""
        if needles is None:
            return None
        gates = [r.scan for r in rules if r.scan is not None]
        # each alternative once (the card rule's own scan is the card-sized integer's)
        scan = BatchScan("|".join(dict.fromkeys([*needles, *gates, CARD_CANDIDATE_SCAN, r"\\"])))
        return scan if scan.usable else None

    @staticmethod
    def _texts_check(rules: list[TextRule], needles: list[str] | None) -> Re2 | None:
        """One RE2 pattern matching every (parsed) string in which a rule can match,
        searched once in all strings of a record joined with NUL."""
        if needles is None:
            return None
        scans = [r.text_scan or r.scan for r in rules if r.scan]
        return compile_re2("|".join([*needles, *scans]))

    @staticmethod
    def _texts_scan(rules: list[TextRule], needles: list[str] | None) -> BatchScan | None:
        """The same, to tell which of the strings (:meth:`text_hits`)."""
        if needles is None:
            return None
        scans = [r.hit_scan or r.text_scan or r.scan for r in rules if r.scan]
        scan = BatchScan("|".join([*needles, *scans]))
        return scan if scan.usable else None

    @staticmethod
    def _pick_key_rule(disabled: set[str]) -> Callable[[str], str | None]:
        auth_on, keys_on = "authorization" not in disabled, "secret_key" not in disabled
        cookie_on = "cookie" not in disabled

        def rule(normal: str) -> str | None:
            if auth_on and normal.endswith("authorization"):
                return "authorization"
            if cookie_on and normal.endswith("cookie"):
                return "cookie"
            return "secret_key" if keys_on else None

        return rule

    # -- text ---------------------------------------------------------------------------
    def may_hold_secret(self, text: str) -> bool:
        """Cheap pre-check: ``False`` means no rule can match ``text``."""
        if self._always:
            return True
        for literal in self._literals:
            if literal in text:
                return True
        flat = flatten(text)
        for needle in self._needles:
            if needle in flat:
                return True
        return any(gate(text) for gate in self._gates)

    def texts_may_hold_secret(self, texts: list[str]) -> bool:
        """``False`` when no rule can find a secret in any of ``texts`` (one RE2 search)."""
        if self._text_check is not None:
            joined = SEPARATOR.join(texts)
            if joined.isascii():  # each text on its own, so rule boundaries hold exactly
                return self._text_check.search(joined.encode("ascii"))
        return any(self.may_hold_secret(text) for text in texts)

    def text_hits(self, texts: list[str]) -> set[int]:
        """Indices of ``texts`` in which a rule may find a secret (one RE2 pass)."""
        if self._text_scan is not None:
            hits = self._text_scan.hits(texts)
            if hits is not None:
                return hits
        return {i for i, text in enumerate(texts) if self.may_hold_secret(text)}

    def redact_text(self, text: str, fired: set[str] | None = None) -> str:
        """``text`` with every secret replaced; names of the rules that fired go to ``fired``."""
        if len(text) < _MIN_LEN or not self.may_hold_secret(text):
            return text
        low, flat = text.lower(), flatten(text)
        for rule in self.rules:
            if not self._may_match(rule, text, flat):
                continue
            new = self._apply(rule, text, low)
            if new != text:
                if fired is not None:
                    fired.add(rule.name)
                text, low, flat = new, new.lower(), flatten(new)
        return text

    @staticmethod
    def _may_match(rule: TextRule, text: str, flat: str) -> bool:
        if rule.always or any(n in flat for n in rule.needles):
            return True
        if any(lit in text for lit in rule.literals):
            return True
        return rule.gate is not None and bool(rule.gate(text))

    def _apply(self, rule: TextRule, text: str, low: str) -> str:
        """``text`` with the secrets ``rule`` finds replaced (spans found in ``low`` for
        lower-case rules when lower-casing kept every offset)."""
        if not rule.lower:
            matches = rule.pattern.finditer(text)
        elif len(low) == len(text):
            matches = rule.pattern.finditer(low)
        else:
            matches = self._ci[rule.name].finditer(text)
        pieces: list[str] = []
        last = 0
        for match in matches:
            start, end = rule.span(match)
            if start < last:
                continue
            secret = text[start:end]
            if not secret or secret.strip("\\\"'").startswith(REDACTED_PREFIX) or (
                    rule.valid is not None
                    and not rule.valid(text[match.start():match.end()], secret)
            ) or (rule.near is not None and not rule.near(text, start, end)):
                continue
            pieces += (text[last:start], self._masked(secret))
            last = end
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)

    def _masked(self, secret: str) -> str:
        """Mask ``secret``, keeping surrounding quotes (``"x"`` -> ``"[REDACTED]"``)."""
        for quote in ('\\"', '"', "'"):
            if len(secret) >= 2 * len(quote) and secret.startswith(quote) \
                    and secret.endswith(quote):
                inner = secret[len(quote): -len(quote)]
                return quote + self.mask(inner) + quote
        return self.mask(secret)

    # -- values -------------------------------------------------------------------------
    def key_rules(self) -> dict[str, str | None]:
        """The cache of :meth:`secret_key_rule` (key -> rule name or ``None``) for hot
        loops; a key not in it yet goes through :meth:`secret_key_rule`."""
        return self._key_cache

    def secret_key_rule(self, key: str) -> str | None:
        """Rule name when ``key`` names a secret (``DB-Password``, ``apiKey``), else ``None``."""
        cached = self._key_cache.get(key, "")
        if cached != "":
            return cached
        normal = flatten(key)
        found = self._key_rule(normal) if any(normal.endswith(n) for n in self._names) else None
        if len(self._key_cache) >= _KEY_CACHE_MAX:
            self._key_cache.clear()
        self._key_cache[key] = found
        return found

    # -- records ------------------------------------------------------------------------
    def redact_record(self, record: Record) -> set[str]:
        """Scrub every string of ``record`` in place (keys too; ``k8s`` is replaced by a
        scrubbed copy when it holds a secret); return the rules that fired."""
        return self._walk.scrub_record(record)

    def k8s_scrubbed(self, k8s: Any) -> Any:
        """``k8s`` when it holds no secret, else its scrubbed copy (one per distinct object)."""
        return self._walk.k8s_scrubbed(k8s)

    def redact_record_check(self, attributes: dict[str, Any]) -> bool:
        """``True`` when these attributes may hold a secret (a cheap pre-check)."""
        return self._walk.may_hold_secret(attributes)


__all__ = ["Redactor", "is_secret_value", "make_mask"]
