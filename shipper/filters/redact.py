"""Secret redaction of records and of any text (the self-logger); the filter stage that
applies it to batches is :class:`shipper.filters.redact_stage.RedactStage`.

:class:`Redactor` is built once from :class:`RedactSettings`; it scrubs ``message``, every
attribute value at any depth (strings in lists and dicts too; values of secret-named keys
whole) and ``_raw``. A combined pre-check skips, in one regex scan, every string that no
rule could match, so typical lines cost a few microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any, Callable

from shipper.filters.prescan import SEPARATOR, BatchScan, compile_re2, escape, flexible
from shipper.filters.secrets import (
    DIGIT_RUN_SCAN, EMAIL_RULE, REDACTED_PREFIX, TextRule, builtin_rules, card_int_ok,
    flatten, minimal_needles,
)
from shipper.filters.settings import RedactSettings
from shipper.record import Record

_MIN_LEN = 5
_KEY_CACHE_MAX = 4096


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
        self._mask = make_mask(settings)
        self._raw = settings.raw
        self._needles = minimal_needles([n for r in rules for n in r.needles])
        self._literals = tuple(sorted({lit for r in rules for lit in r.literals}))
        self._gates = [r.gate for r in rules if r.gate is not None]
        self._always = any(r.always for r in rules)
        self._cards = "card_number" not in disabled
        self._ci = {r.name: re.compile(r.pattern.pattern, r.pattern.flags | re.IGNORECASE)
                    for r in rules if r.lower}
        self._key_rule = self._pick_key_rule(disabled)
        self._names = [k.lower().replace("-", "").replace("_", "") for k in settings.secret_keys]
        self._key_cache: dict[str, str | None] = {}
        needles = self._needle_parts(rules)
        self.scan = self._batch_scan(rules, needles)
        text_scan = "|".join([*(needles or ()), *(r.text_scan or r.scan for r in rules if r.scan)])
        self._text_scan = compile_re2(text_scan) if needles is not None and text_scan else None

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
        scan = BatchScan("|".join([*needles, *gates, DIGIT_RUN_SCAN, r"\\"]))
        return scan if scan.usable else None

    @staticmethod
    def _pick_key_rule(disabled: set[str]) -> Callable[[str], str | None]:
        auth_on, keys_on = "authorization" not in disabled, "secret_key" not in disabled

        def rule(normal: str) -> str | None:
            if auth_on and normal.endswith("authorization"):
                return "authorization"
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

    def redact_text(self, text: str, fired: set[str] | None = None) -> str:
        """``text`` with every secret replaced; names of the rules that fired go to ``fired``."""
        if len(text) < _MIN_LEN or not self.may_hold_secret(text):
            return text
        low, flat = text.lower(), flatten(text)
        for rule in self.rules:
            if not self._may_match(rule, text, low, flat):
                continue
            new = self._apply(rule, text, low)
            if new != text:
                if fired is not None:
                    fired.add(rule.name)
                text, low, flat = new, new.lower(), flatten(new)
        return text

    @staticmethod
    def _may_match(rule: TextRule, text: str, low: str, flat: str) -> bool:
        if rule.always or any(n in flat for n in rule.needles):
            return True
        if any(lit in text for lit in rule.literals):
            return True
        return rule.gate is not None and rule.gate(text)

    def _apply(self, rule: TextRule, text: str, low: str) -> str:
        """``text`` with the secrets ``rule`` finds replaced (spans found in ``low`` for
        lower-case rules when lower-casing kept every offset)."""
        if not rule.lower:
            matches = rule.pattern.finditer(text)
        elif len(low) == len(text):
            matches = rule.pattern.finditer(low)
        else:
            matches = self._ci[rule.name].finditer(text)
        pieces, last = [], 0
        for match in matches:
            start, end = match.span(rule.group)
            if start < 0:
                continue
            secret = text[start:end]
            if not secret or secret.strip("\\\"'").startswith(REDACTED_PREFIX) or (
                    rule.valid is not None and not rule.valid(text[match.start():match.end()], secret)):
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
            if len(secret) >= 2 * len(quote) and secret.startswith(quote) and secret.endswith(quote):
                inner = secret[len(quote): -len(quote)]
                return quote + self._mask(inner) + quote
        return self._mask(secret)

    # -- values -------------------------------------------------------------------------
    def secret_key_rule(self, key: str) -> str | None:
        """Rule name when ``key`` names a secret (``DB-Password``, ``apiKey``), else ``None``."""
        cached = self._key_cache.get(key, "")
        if cached != "":
            return cached
        normal = key.lower().replace("-", "").replace("_", "")
        found = self._key_rule(normal) if any(normal.endswith(n) for n in self._names) else None
        if len(self._key_cache) >= _KEY_CACHE_MAX:
            self._key_cache.clear()
        self._key_cache[key] = found
        return found

    def redact_value(self, value: Any, fired: set[str]) -> Any:
        """``value`` with secrets replaced; dicts and lists are changed in place."""
        if isinstance(value, str):
            return self.redact_text(value, fired)
        if isinstance(value, dict):
            self._redact_dict(value, fired)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                value[i] = self.redact_value(item, fired)
        elif isinstance(value, int) and not isinstance(value, bool) and value > 10**12:
            if self._cards and card_int_ok(value):
                fired.add("card_number")
                return self._mask(str(value))
        return value

    def _redact_dict(self, mapping: dict[str, Any], fired: set[str]) -> None:
        for key, item in mapping.items():
            rule = self.secret_key_rule(key) if isinstance(key, str) else None
            if rule is not None and _is_secret_value(item):
                if not (isinstance(item, str) and item.startswith(REDACTED_PREFIX)):
                    mapping[key] = self._mask(item if isinstance(item, str) else repr(item))
                    fired.add(rule)
            else:
                mapping[key] = self.redact_value(item, fired)

    # -- records ------------------------------------------------------------------------
    def redact_record(self, record: Record) -> set[str]:
        """Scrub ``message``, ``attributes`` and ``_raw`` in place; return the rules that fired."""
        fired: set[str] = set()
        if not self._record_may_hold_secret(record):
            return fired
        message = record.get("message")
        if isinstance(message, str):
            record["message"] = self.redact_text(message, fired)
        attrs = record.get("attributes")
        if attrs:
            self._redact_dict(attrs, fired)
        raw = record.get("_raw")
        if self._raw and isinstance(raw, str):
            record["_raw"] = self.redact_text(raw, fired)
        return fired

    def redact_record_check(self, attributes: dict[str, Any]) -> bool:
        """``True`` when these attributes may hold a secret (the per-record pre-check)."""
        return self._record_may_hold_secret({"attributes": dict(attributes)})

    def _record_may_hold_secret(self, record: Record) -> bool:
        """One pre-check over all of a record's text (most records stop here)."""
        texts: list[str] = []
        message = record.get("message")
        if isinstance(message, str):
            texts.append(message)
        attrs = record.get("attributes")
        if attrs and self._collect(attrs, texts):
            return True
        raw = record.get("_raw")
        if self._raw and isinstance(raw, str):
            texts.append(raw)
        if self._text_scan is not None:
            joined = SEPARATOR.join(texts)
            if joined.isascii():  # each text on its own, so rule boundaries hold exactly
                return self._text_scan.search(joined.encode("ascii"))
        if self._raw and isinstance(raw, str):
            # a string inside the raw line holds no secret the raw line does not show
            texts = [raw, *(t for t in texts[:-1] if len(t) >= _MIN_LEN and t not in raw)]
        return self.may_hold_secret("\n".join(texts))

    def _collect(self, value: Any, texts: list[str]) -> bool:
        """Gather the strings under ``value``; ``True`` at once when a secret-named key or
        a card-sized integer makes the full pass necessary."""
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and self.secret_key_rule(key) is not None \
                    and _is_secret_value(item):
                return True
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, (dict, list)):
                if self._collect(item, texts):
                    return True
            elif isinstance(item, int) and not isinstance(item, bool) and item > 10**12:
                if self._cards and card_int_ok(item):
                    return True
        return False


def _is_secret_value(value: Any) -> bool:
    """Values worth hiding under a secret-named key (not ``None``/``True``/empty)."""
    if value is None or isinstance(value, bool):
        return False
    return value != "" and value != {} and value != []
