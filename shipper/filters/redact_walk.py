"""How the redactor walks a record: every string it holds, keys included, at any depth.

One pass gathers the strings of the record (top-level fields such as ``message``,
``logger``, ``job_id``, ``correlation_id``, ``stream``, ``file.path``; every key and value
of ``attributes`` at any depth, list items included; the raw line) and handles the values
of secret-named keys and card-sized integers on the way. One RE2 search over all gathered
strings then picks the few the rules must look at (:meth:`Redactor.text_hits`). A key
that holds a secret is replaced like a value, and kept unique (``[REDACTED]#2``).

``k8s`` (pod facts shared by every record of a file) is never changed in place: a
scrubbed copy is made once per distinct object and put in the records instead. The walk
uses an explicit stack, so any nesting depth the JSON parser accepts is fine.
"""

from __future__ import annotations

from copy import deepcopy
from typing import TYPE_CHECKING, Any

from shipper.filters.secrets import REDACTED_PREFIX, card_int_ok
from shipper.filters.secrets_cloud import is_bare_aws_secret
from shipper.record import Record

if TYPE_CHECKING:
    from shipper.filters.redact import Redactor

MIN_LEN = 5
_K8S_CACHE_MAX = 256
_CARD_MIN = 10**12
_UNKNOWN = object()
Slot = tuple[Any, Any, bool]  # (container, key or index, whether the key itself is the text)


def is_secret_value(value: Any) -> bool:
    """Values worth hiding under a secret-named key (not ``None``/``True``/empty)."""
    if value is None or isinstance(value, bool):
        return False
    return bool(value != "" and value != {} and value != [])


class RecordWalk:
    """The record and container passes of one :class:`Redactor`."""

    def __init__(self, redactor: Redactor) -> None:
        self._r = redactor
        self._k8s: dict[int, tuple[Any, Any, frozenset[str]]] = {}

    def scrub_record(self, record: Record) -> set[str]:
        """Scrub ``record`` in place; the rules that fired. Most records stop after one
        cheap pass: their strings gathered, one RE2 search finding nothing."""
        fired: set[str] = set()
        texts = self._texts(record)
        if texts is None or (texts and self._r.texts_may_hold_secret(texts)):
            self._scrub_strings(record, fired)
        k8s = record.get("k8s")
        if k8s:
            record["k8s"] = self.k8s_scrubbed(k8s, fired)
        return fired

    def _texts(self, record: Record) -> list[str] | None:
        """Every string of ``record`` but ``k8s`` (keys too); ``None`` as soon as a
        secret-named key or a card-sized integer makes the full pass necessary. (The hot
        path of the records the batch pre-scan could not clear: kept flat.)"""
        texts: list[str] = []
        append = texts.append
        stack: list[Any] = []
        is_card = self._is_card
        raw = record.raw
        if raw.__class__ is str and self._r.raw:
            append(raw)
        for key, value in record.items():
            if key == "k8s" or key.__class__ is not str:
                continue
            if value.__class__ is str:
                append(value)
            elif isinstance(value, (dict, list)):
                stack.append(value)
            elif value.__class__ is int and is_card(value):
                return None
        names = self._r.key_rules()
        while stack:
            container = stack.pop()
            items = container.items() if isinstance(container, dict) else enumerate(container)
            for name, item in items:
                if name.__class__ is str:
                    append(name)
                    rule: Any = names.get(name, _UNKNOWN)
                    if rule is _UNKNOWN:
                        rule = self._r.secret_key_rule(name)
                    if rule is not None and is_secret_value(item):
                        return None
                cls = item.__class__
                if cls is str:
                    append(item)
                elif cls is dict or cls is list or isinstance(item, (dict, list)):
                    stack.append(item)
                elif cls is int and is_card(item):
                    return None
        return texts

    def _scrub_strings(self, record: Record, fired: set[str]) -> None:
        """The full pass over every string of ``record`` but ``k8s``."""
        slots: list[Slot] = []
        texts: list[str] = []
        stack: list[Any] = []
        for key, value in record.items():
            if key == "k8s" or key.__class__ is not str:
                continue
            self._item(record, key, value, slots, texts, fired, stack)
        raw = [record.raw] if self._r.raw and record.raw.__class__ is str else None
        if raw is not None:  # the line beside the record, in a box the pass writes to
            slots.append((raw, 0, False))
            texts.append(raw[0])
        self._gather(stack, slots, texts, fired)
        self._apply(slots, texts, fired)
        if raw is not None:
            record.raw = raw[0]

    def scrub(self, container: Any) -> set[str]:
        """Scrub a dict or list (keys too) in place; the rules that fired."""
        fired: set[str] = set()
        slots: list[Slot] = []
        texts: list[str] = []
        self._gather([container], slots, texts, fired)
        self._apply(slots, texts, fired)
        return fired

    def k8s_scrubbed(self, k8s: Any, fired: set[str] | None = None) -> Any:
        """``k8s`` itself when it holds no secret, else its scrubbed copy (made once)."""
        entry = self._k8s.get(id(k8s))
        if entry is None or entry[0] is not k8s:
            copy = deepcopy(k8s)
            rules = self.scrub(copy) if isinstance(copy, (dict, list)) else set()
            entry = (k8s, copy if rules else k8s, frozenset(rules))
            if len(self._k8s) >= _K8S_CACHE_MAX:
                self._k8s.clear()
            self._k8s[id(k8s)] = entry
        if fired is not None:
            fired |= entry[2]
        return entry[1]

    def card(self, value: int, fired: set[str]) -> Any:
        """A card-number integer masked (as text), anything else as it is."""
        if self._r.cards and card_int_ok(value):
            fired.add("card_number")
            return self._r.mask(str(value))
        return value

    def may_hold_secret(self, value: Any) -> bool:
        """``True`` when ``value`` (a dict, list or string) may hold a secret (no change)."""
        texts: list[str] = []
        stack = [value] if isinstance(value, (dict, list)) else []
        if isinstance(value, str):
            texts.append(value)
        while stack:
            container = stack.pop()
            pairs = container.items() if isinstance(container, dict) else enumerate(container)
            for key, item in pairs:
                if isinstance(key, str):
                    if self._r.secret_key_rule(key) is not None and is_secret_value(item):
                        return True
                    texts.append(key)
                if isinstance(item, str):
                    texts.append(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
                elif self._is_card(item):
                    return True
        return self._r.texts_may_hold_secret(texts) if texts else False

    # -- internals ----------------------------------------------------------------------
    def _is_card(self, item: Any) -> bool:
        return bool(item.__class__ is int and item > _CARD_MIN and self._r.cards
                    and card_int_ok(item))

    def _gather(self, stack: list[Any], slots: list[Slot], texts: list[str],
                fired: set[str]) -> None:
        """Every string under the containers on ``stack`` (secret-named keys' values and
        card-sized integers are masked on the way)."""
        redactor = self._r
        while stack:
            container = stack.pop()
            if not isinstance(container, dict):
                for index, item in enumerate(container):
                    self._item(container, index, item, slots, texts, fired, stack)
                continue
            for key, item in container.items():
                if key.__class__ is str:
                    if len(key) >= MIN_LEN:
                        slots.append((container, key, True))
                        texts.append(key)
                    rule = redactor.secret_key_rule(key)
                    if rule is not None and is_secret_value(item):
                        if not (item.__class__ is str and item.startswith(REDACTED_PREFIX)):
                            shown = item if isinstance(item, str) else repr(item)
                            container[key] = redactor.mask(shown)
                            fired.add(rule)
                        continue
                self._item(container, key, item, slots, texts, fired, stack)

    def _item(self, container: Any, key: Any, item: Any, slots: list[Slot], texts: list[str],
              fired: set[str], stack: list[Any]) -> None:
        if isinstance(item, str):
            if len(item) >= MIN_LEN:
                slots.append((container, key, False))
                texts.append(item)
        elif isinstance(item, (dict, list)):
            stack.append(item)
        elif item.__class__ is int and item > _CARD_MIN:
            container[key] = self.card(item, fired)

    def _apply(self, slots: list[Slot], texts: list[str], fired: set[str]) -> None:
        """Redact the gathered strings the RE2 pass picks; keys are renamed last."""
        if not texts:
            return
        renames: dict[int, tuple[dict[Any, Any], dict[str, str]]] = {}
        for index in sorted(self._r.text_hits(texts)):
            text = texts[index]
            new = self._r.redact_text(text, fired)
            if new == text:
                continue
            container, key, is_key = slots[index]
            if is_key:
                renames.setdefault(id(container), (container, {}))[1][key] = new
            else:
                container[key] = new
        if self._r.aws_pairs and "aws_access_key_id" in fired:
            self._bare_aws_secrets(slots, texts, fired)
        for container, names in renames.values():
            _rename(container, names)

    def _bare_aws_secrets(self, slots: list[Slot], texts: list[str], fired: set[str]) -> None:
        """A record with an AWS access key id: a value that is nothing but a 40-character
        secret access key (``{"id": "AKIA...", "sk": "..."}``) is one too."""
        for (container, key, is_key), text in zip(slots, texts, strict=True):
            if not is_key and len(text) == 40 and container[key] == text \
                    and is_bare_aws_secret(text):
                container[key] = self._r.mask(text)
                fired.add("aws_secret_key")


def _rename(container: dict[Any, Any], names: dict[str, str]) -> None:
    """Rename keys of ``container`` in place, order kept, every key unique."""
    items = list(container.items())
    container.clear()
    for key, value in items:
        new = names.get(key, key)
        if new in container:
            suffix = 2
            while f"{new}#{suffix}" in container:
                suffix += 1
            new = f"{new}#{suffix}"
        container[new] = value
