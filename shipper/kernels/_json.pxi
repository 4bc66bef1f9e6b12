# === JsonLines (helper `json`, issue 14): a plain file's chunk -> records ====================
# Twin and reference: ``pure_json.py`` (read its docstring: the same lines go the same way).
# The common object shape is mapped inline; every other shape through ``mapper.parse``.

import orjson as _orjson

from shipper.record import Record as _Record

from cpython.dict cimport PyDict_Copy, PyDict_DelItem, PyDict_SetItem, PyDict_Update
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memset

from libc.math cimport rint

cdef object _json_loads = _orjson.loads
cdef object _JSONDecodeError = _orjson.JSONDecodeError

# The keys ``_common`` reads, by slot: ``JsonLineParser``'s MESSAGE_KEYS (0-3), LEVEL_KEYS
# (4-10) and TIME_KEYS (11-16) in their order, then the keys that send a line to ``parse``
# or name its logger. One pass over the object (``_json_scan``) finds them all, with the
# object's own key objects (so that each ``del`` finds its key by identity).
_SLOT_KEYS = ("message", "msg", "event", "log",
              "level", "severity", "levelname", "lvl", "loglevel", "log.level", "level_name",
              "timestamp", "time", "ts", "@timestamp", "datetime", "asctime",
              "source", "logger", "logger_name", "name", "label")

cdef enum:
    _WORDS_SEEN = 8
    _S_LEVEL = 4
    _S_TIME = 11
    _S_SOURCE = 17
    _S_LOGGER = 18
    _S_LOGGER_NAME = 19
    _S_NAME = 20
    _S_LABEL = 21
    _S_COUNT = 22

cdef extern from *:
    """
    /* _SLOT_KEYS by length: the keys of length n are __pyx_json_keys[first[n]:first[n+1]] */
    static const char* __pyx_json_keys[22];
    static int __pyx_json_slot[22];
    static Py_ssize_t __pyx_json_first[13];

    static void __pyx_json_table(PyObject* names) {  /* a tuple of 22 ASCII str */
        Py_ssize_t n, i, at = 0;
        for (n = 0; n <= 11; n++) {
            __pyx_json_first[n] = at;
            for (i = 0; i < 22; i++) {
                PyObject* name = PyTuple_GET_ITEM(names, i);
                if (PyUnicode_GET_LENGTH(name) == n) {
                    __pyx_json_keys[at] = (const char*)PyUnicode_DATA(name);
                    __pyx_json_slot[at++] = (int)i;
                }
            }
        }
        __pyx_json_first[12] = at;
    }

    /* keys[s], vals[s] = key, value when key is the slot s's */
    static inline void __pyx_json_match(PyObject* key, PyObject* value, PyObject** keys,
                                        PyObject** vals) {
        Py_ssize_t n, i, stop;
        const char* s;
        if (!PyUnicode_CheckExact(key) || !PyUnicode_IS_COMPACT_ASCII(key)) return;
        n = PyUnicode_GET_LENGTH(key);
        if (n < 2 || n > 11) return;
        s = (const char*)PyUnicode_DATA(key);
        for (i = __pyx_json_first[n], stop = __pyx_json_first[n + 1]; i < stop; i++) {
            if (s[0] == __pyx_json_keys[i][0] && memcmp(s, __pyx_json_keys[i], n) == 0) {
                keys[__pyx_json_slot[i]] = key;
                vals[__pyx_json_slot[i]] = value;
                return;
            }
        }
    }

    /* a record as ``Record()`` makes it: ``tp_new``, then its two object slots set by
       ``PyMember_SetOne`` with the ``PyMemberDef`` their member descriptors hold */
    static PyMemberDef *__pyx_json_raw_member, *__pyx_json_before_member;

    static PyMemberDef* __pyx_json_member(PyObject* descr) {  /* a writable object slot's */
        PyMemberDef* member = ((PyMemberDescrObject*)descr)->d_member;
        if (member->type != Py_T_OBJECT_EX || (member->flags & Py_READONLY)) return NULL;
        return member;
    }

    static PyObject* __pyx_json_record(PyObject* cls, PyObject* args, PyObject* text) {
        PyTypeObject* type = (PyTypeObject*)cls;
        PyObject* record = type->tp_new(type, args, NULL);
        if (record == NULL) return NULL;
        if (PyMember_SetOne((char*)record, __pyx_json_raw_member, text) < 0
                || PyMember_SetOne((char*)record, __pyx_json_before_member, Py_None) < 0) {
            Py_DECREF(record);
            return NULL;
        }
        return record;
    }

    /* a writable object slot of obj (its member ``m``): new reference, or NULL with
       AttributeError when unset; set it to v (a new reference taken) */
    static PyObject* __pyx_json_get(PyObject* obj, PyMemberDef* m) {
        return PyMember_GetOne((const char*)obj, m);
    }
    static int __pyx_json_set(PyObject* obj, PyMemberDef* m, PyObject* v) {
        return PyMember_SetOne((char*)obj, m, v);
    }

    /* keys[s], vals[s]: the object's own key and value for the slot s (borrowed), or NULL */
    static void __pyx_json_scan(PyObject* obj, PyObject** keys, PyObject** vals) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(obj, &pos, &key, &value)) __pyx_json_match(key, value, keys, vals);
    }

    /* text[:23] + "Z" for a compact ASCII text of 24 characters or more */
    static PyObject* __pyx_json_millis(PyObject* text) {
        PyObject* out = PyUnicode_New(24, 127);
        if (out == NULL) return NULL;
        memcpy(PyUnicode_DATA(out), PyUnicode_DATA(text), 23);
        ((char*)PyUnicode_DATA(out))[23] = 'Z';
        return out;
    }
    """
    void __pyx_json_table(object names)
    ctypedef struct PyMemberDef
    PyMemberDef* __pyx_json_member(object descr)
    PyMemberDef* __pyx_json_raw_member
    PyMemberDef* __pyx_json_before_member
    object __pyx_json_record(object cls, object args, object text)
    object _slot_get "__pyx_json_get"(object obj, PyMemberDef* m)
    int _slot_set "__pyx_json_set"(object obj, PyMemberDef* m, object v) except -1
    void __pyx_json_scan(object obj, PyObject** keys, PyObject** vals) noexcept
    object __pyx_json_millis(object text)
    bint _json_ascii "PyUnicode_IS_COMPACT_ASCII"(object text)
    const char* _json_data "PyUnicode_DATA"(object text)
    Py_ssize_t _json_len "PyUnicode_GET_LENGTH"(object text)
    PyObject* _json_none "Py_None"
    void* _json_str_type "(&PyUnicode_Type)"
    void* _json_int_type "(&PyLong_Type)"
    void* _json_float_type "(&PyFloat_Type)"
    void* _json_type "Py_TYPE"(PyObject* o)

__pyx_json_table(_SLOT_KEYS)

# a record made as ``Record()`` makes it, without a call: ``dict``'s ``tp_new`` and its two
# slots (writable object members) set through their members
cdef object _RECORD = _Record
cdef object _RAW_SLOT = _Record.__dict__["raw"]
cdef object _BEFORE_SLOT = _Record.__dict__["before"]
cdef tuple _NO_ARGS = ()
if type(_RAW_SLOT) is not _MEMBER or type(_BEFORE_SLOT) is not _MEMBER:
    raise ImportError("Record keeps raw and before in __slots__")
__pyx_json_raw_member = __pyx_json_member(_RAW_SLOT)
__pyx_json_before_member = __pyx_json_member(_BEFORE_SLOT)
if __pyx_json_raw_member == NULL or __pyx_json_before_member == NULL:
    raise ImportError("Record keeps raw and before in writable __slots__")


cdef PyMemberDef* _slot_member(joiner, str name) except NULL:
    """The member of the slot ``name`` of the joiner (``MultilineJoiner.__slots__``) or
    the normalizer (``TimestampNormalizer.__slots__``)."""
    descr = getattr(type(joiner), name, None)
    cdef PyMemberDef* member = NULL
    if type(descr) is _MEMBER:
        member = __pyx_json_member(descr)
    if member == NULL:
        raise ValueError(f"the kernel takes a joiner and a normalizer that keep {name} "
                         "in a writable slot")
    return member


cdef inline object _new_record(object text):
    return __pyx_json_record(_RECORD, _NO_ARGS, text)


cdef inline bint _may_be_request(str message):
    """False only when ``bare_request`` cannot match: it needs ``METHOD /`` (a method of
    3 to 7 letters) at the start."""
    cdef Py_ssize_t n = len(message), i
    for i in range(3, 8 if n > 8 else n):
        if PyUnicode_READ_CHAR(message, i) == 32:
            return i + 1 < n and PyUnicode_READ_CHAR(message, i + 1) == 47
    return False


cdef class JsonLines:
    cdef object _path, _joiner, _parse, _from_string, _from_epoch, _bare_request
    cdef object _text_line, _plain_line, _fallback_time, _initials, _stamps
    cdef object _normalize_level, _tidy_node, _implied_level
    cdef dict _levels, _file  # _file: a record's "file", its offset a placeholder
    cdef tuple _time_keys
    cdef str _impossible
    cdef Py_ssize_t _max_depth, _long
    cdef tuple _millis_tails
    cdef double _number_floor
    cdef object _route, _parse_text, _route_record, _wrapped_line, _formats
    cdef frozenset _single, _block_initials
    cdef list _words  # (word, level): the level words met, at most _WORDS_SEEN
    cdef unsigned long long _initial_bits[2]  # method_initials (ASCII) as bits
    cdef unsigned long long _block_bits[2]  # the route's block_initials (ASCII) as bits
    cdef bint _block_by_bits  # every block initial one ASCII character: _block_bits tell
    cdef object _utc_default  # the normalizer's, set once when it is made
    # the joiner's state, read and set through its slots' members (no attribute lookup)
    cdef PyMemberDef* _m_pending
    cdef PyMemberDef* _m_dangling
    cdef PyMemberDef* _m_state
    cdef PyMemberDef* _m_parts
    cdef PyMemberDef* _m_size
    cdef PyMemberDef* _m_header
    # the normalizer's last seconds, read through its slots' members
    cdef PyMemberDef* _m_good_second
    cdef PyMemberDef* _m_epoch_second
    cdef PyMemberDef* _m_epoch_prefix

    def __init__(self, str path, joiner, mapper, text_line, plain_line, fallback_time,
                 Py_ssize_t max_depth, route=None):
        self.restart(path)
        self._joiner = joiner
        self._m_pending = _slot_member(joiner, "pending")
        self._m_dangling = _slot_member(joiner, "dangling")
        self._m_state = _slot_member(joiner, "_state")
        self._m_parts = _slot_member(joiner, "_parts")
        self._m_size = _slot_member(joiner, "_size")
        self._m_header = _slot_member(joiner, "_header")
        self._parse = mapper.parse
        self._from_string = mapper.from_string
        self._from_epoch = mapper.from_epoch
        self._stamps = mapper.stamps  # its last seconds, read by _string/_float_time
        self._utc_default = self._stamps.utc_default
        self._m_good_second = _slot_member(self._stamps, "good_second")
        self._m_epoch_second = _slot_member(self._stamps, "_epoch_second")
        self._m_epoch_prefix = _slot_member(self._stamps, "_epoch_prefix")
        from shipper.parse.instants import MILLIS_TAILS, NUMBER_FLOOR  # (a cycle at import)
        self._millis_tails = MILLIS_TAILS
        self._number_floor = NUMBER_FLOOR
        self._bare_request = mapper.bare_request
        self._initials = mapper.method_initials
        self._initial_bits[0] = self._initial_bits[1] = 0
        for initial in self._initials:
            if len(initial) != 1 or ord(initial) > 127:
                raise ValueError("the kernel takes single ASCII method initials")
            self._initial_bits[ord(initial) >> 6] |= 1ULL << (ord(initial) & 63)
        self._words = []
        levels = mapper.text_levels  # shared, not copied: a parser per file (at a time)
        self._levels = levels if type(levels) is dict else dict(levels)
        self._time_keys = tuple(mapper.time_keys)
        if (tuple(mapper.message_keys) + tuple(mapper.level_keys) + self._time_keys
                != _SLOT_KEYS[:_S_SOURCE]):
            raise ValueError("the kernel reads JsonLineParser's message, level and time keys")
        self._normalize_level = mapper.normalize_level
        self._tidy_node = mapper.tidy_node
        self._implied_level = mapper.implied_level
        self._impossible = mapper.impossible
        self._text_line = text_line
        self._plain_line = plain_line
        self._fallback_time = fallback_time
        self._max_depth = max_depth
        self._long = 2 * max_depth
        self._route = route
        if route is not None:
            self._parse_text, self._route_record, self._wrapped_line, self._formats = (
                route.parse, route.record, route.wrapped_line, route.formats)
            self._single, self._block_initials = route.single, route.block_initials
        self._block_by_bits = self._ascii_bits(self._block_initials, self._block_bits)

    def restart(self, str path):
        """The lines of ``path`` from now on (at ``__init__``, and for another file: its
        joiner reset by the caller): only the path is the file's; the level words met
        stay (a word's level is a word's)."""
        self._path = path
        self._file = {"path": path, "offset": 1}

    def feed(self, list lines, truncated, list out):
        cdef Py_ssize_t index, size
        cdef long json_lines = 0, text_lines = 0
        cdef int got
        cdef bint settled = False
        cdef const char* buf
        cdef tuple item
        cdef bytes raw
        cdef object text, record
        for index in range(len(lines)):
            item = <tuple?>lines[index]
            offset, raw = item[0], <bytes?>item[1]
            buf = PyBytes_AS_STRING(raw)
            size = PyBytes_GET_SIZE(raw)
            if (memchr(buf, 0, <size_t>size) != NULL or memchr(buf, 27, <size_t>size) != NULL
                    or memchr(buf, 13, <size_t>size) != NULL):
                json_lines += self._plain_line(offset, raw, truncated, out)
                settled = False
                continue
            try:
                text = PyUnicode_DecodeUTF8(buf, size, NULL)
            except UnicodeDecodeError:
                json_lines += self._plain_line(offset, raw, truncated, out)
                settled = False
                continue
            if size == 0 or buf[0] != 123:  # "{"
                got = self._text(offset, text, None, None, truncated, out)
                if got == 0:
                    self._text_line(offset, text, None, None, truncated, out)
                elif got == 1:
                    if text_lines == 0:
                        self._count_key("text")
                    text_lines += 1
                settled = False
                continue
            record = self._record(offset, raw, buf, size, text, truncated, None, None)
            if record is None:
                json_lines += self._plain_line(offset, raw, truncated, out)
                settled = False
                continue
            if not settled:
                self._settle(out)
                settled = True
            out.append(record)
            json_lines += 1
        if text_lines:
            self._formats["text"] += text_lines
        return json_lines

    def wrapped_lines(self, list inners, truncated, list out):
        """The records of a runtime-wrapped file's inner lines ``(offset, data, stream,
        wrapper time)`` (``RuntimeUnwrapper.unwrap``): CRI bytes as ``feed`` takes a plain
        line's, with their stream and wrapper time; anything else through the route's
        ``wrapped_line`` (``FileParser._wrapped_line``, the reference)."""
        cdef Py_ssize_t index, size
        cdef long json_lines = 0, text_lines = 0
        cdef int got
        cdef bint settled = False
        cdef const char* buf
        cdef object text, record, data, formats = self._formats
        for index in range(len(inners)):
            offset, data, stream, wrapper_time = inners[index]  # a tuple or an ``Inner``
            if type(data) is not bytes:
                self._wrapped_line(offset, data, stream, wrapper_time, truncated, out)
                settled = False
                continue
            buf = PyBytes_AS_STRING(data)
            size = PyBytes_GET_SIZE(data)
            if (memchr(buf, 0, <size_t>size) != NULL or memchr(buf, 27, <size_t>size) != NULL
                    or memchr(buf, 13, <size_t>size) != NULL):
                self._wrapped_line(offset, data, stream, wrapper_time, truncated, out)
                settled = False
                continue
            try:
                text = PyUnicode_DecodeUTF8(buf, size, NULL)
            except UnicodeDecodeError:
                self._wrapped_line(offset, data, stream, wrapper_time, truncated, out)
                settled = False
                continue
            if size == 0 or buf[0] != 123:  # "{"
                got = self._text(offset, text, stream, wrapper_time, truncated, out)
                if got == 0:
                    self._text_line(offset, text, stream, wrapper_time, truncated, out)
                elif got == 1:
                    if text_lines == 0:
                        self._count_key("text")
                    text_lines += 1
                settled = False
                continue
            record = self._record(offset, data, buf, size, text, truncated, stream,
                                  wrapper_time)
            if record is None:
                self._wrapped_line(offset, data, stream, wrapper_time, truncated, out)
                settled = False
                continue
            if not settled:
                self._settle(out)
                settled = True
            if json_lines == 0:
                self._count_key("json")
            out.append(record)
            json_lines += 1
        if text_lines:
            formats["text"] += text_lines
        if json_lines:
            formats["json"] += json_lines

    cdef int _settle(self, list out) except -1:
        """A JSON record follows other lines: the pending record goes out first, and a
        key block cut by a flush ends here (``dangling`` dropped)."""
        pending = _slot_get(self._joiner, self._m_pending)
        if pending is not None:
            if (_slot_get(self._joiner, self._m_parts) is None
                    and _slot_get(self._joiner, self._m_state) == 0):
                # ``take`` of one line in state NONE only lets it go: no call
                _slot_set(self._joiner, self._m_pending, None)
                out.append(pending)
            else:
                out.append(self._joiner.take())
        if _slot_get(self._joiner, self._m_dangling) is not None:
            _slot_set(self._joiner, self._m_dangling, None)
        return 0

    cdef bint _ascii_bits(self, initials, unsigned long long* bits) except -1:
        """``bits`` set for ``initials`` (a set of str); False (bits unset) when one of
        them is not a single ASCII character, or there are none (no route)."""
        bits[0] = bits[1] = 0
        if initials is None:
            return False
        for initial in initials:
            if type(initial) is not str or len(initial) != 1 or ord(initial) > 127:
                return False
        for initial in initials:
            bits[ord(initial) >> 6] |= 1ULL << (ord(initial) & 63)
        return True

    cdef _count_key(self, str key):
        """Put ``key`` in the format counts where the reference would first count it
        (its count is added at the end of the chunk, the keys keep the reference's order)."""
        if key not in self._formats:
            self._formats[key] = 0

    cdef int _text(self, offset, str text, stream, wrapper_time, truncated,
                   list out) except -1:
        """A text line (decoded, not ``{``) finished here as ``FileParser._text_line``
        finishes it: 0 when it is not the common case (nothing done: the caller calls
        ``text_line``), 1 for a held ``text`` record (the caller counts it), 2 for any
        other line done (counted here or by the route's ``record``)."""
        cdef Py_ssize_t n = len(text)
        cdef Py_UCS4 first
        cdef object joiner = self._joiner, pending, fields, fmt, record, stamps
        cdef bint begin, block, whole
        cdef unsigned int code
        if n == 0 or self._route is None:
            return 0
        first = PyUnicode_READ_CHAR(text, 0)
        # no key block open or cut by a flush; a line ``accepts`` takes (it says no at once
        # to a digit in state NONE) goes into the pending record as ``takes`` puts it
        if (_slot_get(joiner, self._m_dangling) is not None
                or _slot_get(joiner, self._m_state) != 0):
            return 0
        pending = _slot_get(joiner, self._m_pending)
        if pending is not None and not 48 <= first <= 57 and joiner.accepts(text):
            joiner.takes(text, offset, True, self._formats, out)
            return 2
        # a line the route's ``record`` takes (a key block, a block's first line) gets
        # its fields in a dict; any other stamped line in its own ``Record`` (``whole``)
        begin = _text_holds(text, "-----BEGIN", 5)
        if self._block_by_bits:  # ``text[:1] in block_initials`` without a substring
            code = <unsigned int>first
            block = code < 128 and self._block_bits[code >> 6] >> (code & 63) & 1
        else:
            block = text[:1] in self._block_initials
        block = block and (first != 50 or _text_holds(text, ":  ", 0))  # "2"
        whole = not (begin or block)
        stamps = self._stamps
        fields = _stamped_line(text, _slot_get(stamps, self._m_good_second),
                               self._utc_default, self._levels, self._max_depth, stamps,
                               whole)
        if fields is not None:
            fmt = "text"
        elif Py_UNICODE_ISSPACE(first) and text.isspace():
            return 0  # counted as empty_line by the reference
        else:
            fmt, fields = self._parse_text(text)
            whole = False
        if begin:
            self._route_record(fields, fmt, offset, text, stream, wrapper_time, truncated, out)
            return 2
        if fmt in self._single:  # complete on its line
            _text_count(self._formats, fmt)
            record = self._text_record(offset, fields, whole, text, truncated, stream,
                                       wrapper_time)
            if pending is not None:
                out.append(pending if _slot_get(joiner, self._m_parts) is None
                           else joiner.take())
                _slot_set(joiner, self._m_pending, None)
            out.append(record)
            return 2
        if block:
            self._route_record(fields, fmt, offset, text, stream, wrapper_time, truncated, out)
            return 2
        # held (``MultilineJoiner.start`` in state NONE, no key block)
        record = self._text_record(offset, fields, whole, text, truncated, stream,
                                   wrapper_time)
        if pending is not None and _slot_get(joiner, self._m_parts) is not None:
            pending = joiner.take()
        _slot_set(joiner, self._m_pending, record)
        # a Record (a dict): its own lookup
        _slot_set(joiner, self._m_size, len((<dict>record)["message"]))
        if _slot_get(joiner, self._m_header) is not None:
            _slot_set(joiner, self._m_header, None)
        if pending is not None:
            out.append(pending)
        if fmt == "text":
            return 1
        _text_count(self._formats, fmt)
        return 2

    cdef object _text_record(self, offset, fields, bint whole, str text, truncated, stream,
                             wrapper_time):
        """``FileParser._complete`` of a text line's fields: ``_fields_record``, or, for
        fields already in the line's ``Record`` (``whole``), the rest of it in place."""
        cdef dict placed
        if not whole:
            return self._fields_record(offset, <dict?>fields, text, truncated, stream,
                                       wrapper_time)
        placed = <dict>fields
        if not placed["timestamp"]:  # none, or IMPOSSIBLE ("")
            placed["timestamp"] = self._fallback_time(fields, wrapper_time)
        if stream is not None:
            PyDict_SetItem(placed, "stream", stream)
        PyDict_SetItem(placed, "file", {"path": self._path, "offset": offset})
        if truncated and offset in truncated:
            placed["attributes"]["truncated"] = True
        return fields

    cdef object _fields_record(self, offset, dict parsed, str text, truncated, stream,
                               wrapper_time):
        """``FileParser._complete``: the parsed fields made a record of this file."""
        cdef dict fields
        record = _new_record(text)  # as ``_complete`` makes it (no ``__init__``), no call
        fields = <dict>record
        PyDict_Update(fields, parsed)
        if not fields["timestamp"]:  # none, or IMPOSSIBLE ("")
            fields["timestamp"] = self._fallback_time(record, wrapper_time)
        if stream is not None:
            PyDict_SetItem(fields, "stream", stream)
        PyDict_SetItem(fields, "file", self._file_of(offset))
        if truncated and offset in truncated:
            fields["attributes"]["truncated"] = True
        return record

    def wrapped(self, offset, bytes raw, stream, wrapper_time, truncated):
        """The record of one runtime-wrapped (CRI) JSON object line with its stream and
        wrapper time, or ``None`` for ``FileParser._line`` to take it."""
        cdef const char* buf = PyBytes_AS_STRING(raw)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(raw)
        if (size == 0 or buf[0] != 123 or memchr(buf, 0, <size_t>size) != NULL
                or memchr(buf, 27, <size_t>size) != NULL
                or memchr(buf, 13, <size_t>size) != NULL):
            return None
        try:
            text = PyUnicode_DecodeUTF8(buf, size, NULL)
        except UnicodeDecodeError:
            return None
        return self._record(offset, raw, buf, size, text, truncated, stream, wrapper_time)

    def wrapped_text(self, offset, str text, stream, wrapper_time, truncated):
        """The record of one docker json-file inner line (text the unwrapper decoded) that
        is a JSON object, with its stream and wrapper time, or ``None`` for
        ``FileParser._line`` to take it."""
        cdef Py_ssize_t size = len(text)
        if (size == 0 or PyUnicode_READ_CHAR(text, 0) != 123 or "\x00" in text
                or "\x1b" in text or "\r" in text):
            return None
        if size > self._long and text.count("{") + text.count("[") > self._max_depth:
            return None
        try:
            value = _json_loads(text)
        except _JSONDecodeError:
            return None
        if type(value) is not dict:
            return None
        return self._finish(offset, <dict>value, text, truncated, stream, wrapper_time)

    cdef object _record(self, offset, bytes raw, const char* buf, Py_ssize_t size, str text,
                        truncated, stream, wrapper_time):
        cdef Py_ssize_t i, brackets = 0
        if size > self._long:
            for i in range(size):
                if buf[i] == 123 or buf[i] == 91:
                    brackets += 1
            if brackets > self._max_depth:
                return None
        try:
            value = _json_loads(raw)
        except _JSONDecodeError:
            return None
        if type(value) is not dict:
            return None
        return self._finish(offset, <dict>value, text, truncated, stream, wrapper_time)

    cdef object _finish(self, offset, dict obj, str text, truncated, stream, wrapper_time):
        """The record of the decoded object ``obj`` of the line ``text``."""
        cdef dict fields
        record = self._common(obj, text, offset, stream, wrapper_time)
        if record is None:  # not the common shape: obj untouched
            record = _new_record(text)
            fields = <dict>record
            PyDict_Update(fields, self._parse(obj))
            if not fields["timestamp"]:  # none, or IMPOSSIBLE ("")
                fields["timestamp"] = self._fallback_time(record, wrapper_time)
            if stream is not None:
                PyDict_SetItem(fields, "stream", stream)
            PyDict_SetItem(fields, "file", self._file_of(offset))
        if truncated and offset in truncated:
            record["attributes"]["truncated"] = True
        return record

    cdef inline dict _file_of(self, offset):
        """``{"path": path, "offset": offset}``, copied from ``_file`` (its key table
        cloned, no insert) with the offset put in."""
        cdef dict file = PyDict_Copy(self._file)
        PyDict_SetItem(file, "offset", offset)
        return file

    cdef object _common(self, dict obj, str text, offset, stream, wrapper_time):
        """``JsonLineParser.parse`` and ``_finish``'s steps for the common shape: its
        record (``_shaped``); ``None`` (``obj`` untouched) for any other shape. The keys
        it reads are found in one pass (``__pyx_json_scan``: an absent key is NULL, a
        JSON null None; the reference's ``get`` gives None for both, its ``in`` tells
        them apart)."""
        cdef PyObject* keys[_S_COUNT]
        cdef PyObject* vals[_S_COUNT]
        cdef PyObject* v
        cdef int i, at = -1, level_at = _S_LEVEL
        cdef object message, message_key, level, logger = None, logger_key = None
        memset(keys, 0, sizeof(keys))
        memset(vals, 0, sizeof(vals))
        __pyx_json_scan(obj, keys, vals)
        for i in range(_S_LEVEL):
            if vals[i] != NULL and _json_type(vals[i]) == _json_str_type:
                at = i
                break
        if at < 0:
            return None
        v = vals[_S_LEVEL]
        if v != NULL and _json_type(v) == _json_str_type:  # the common case
            level = self._level_word(<object>v)
        else:
            level = self._level_at(vals, &level_at)
        if level is None:  # no level key holds a value: the level the event implies
            for i in range(_S_LEVEL, _S_TIME):
                if vals[i] != NULL and vals[i] != _json_none:
                    return None
            level_at = _S_TIME
        if vals[_S_SOURCE] != NULL:
            return None
        v = vals[_S_LOGGER]
        if v != NULL and _json_type(v) == _json_str_type:
            logger, logger_key = <object>v, <object>keys[_S_LOGGER]
        elif (vals[_S_LOGGER_NAME] != NULL or vals[_S_NAME] != NULL
                or (vals[_S_LABEL] != NULL and at == 0)):  # slot 0: "message"
            return None
        message, message_key = <object>vals[at], <object>keys[at]
        PyDict_DelItem(obj, message_key)
        if level_at == _S_TIME:
            level = self._implied_level(obj, message)
            stamp = self._slot_time(obj, keys, vals)
        elif level_at < 0:  # a pino/bunyan number under "level": the object changes
            self._tidy_node(obj)
            PyDict_DelItem(obj, "level")
            stamp = self._timestamp(obj)
        else:
            PyDict_DelItem(obj, <object>keys[level_at])
            stamp = self._slot_time(obj, keys, vals)
        if logger is not None:
            PyDict_DelItem(obj, logger_key)
        if _json_len(message):
            i = PyUnicode_READ_CHAR(message, 0)  # in method_initials, then the call's test
            if (i < 128 and self._initial_bits[i >> 6] >> (i & 63) & 1
                    and _may_be_request(<str>message)):
                self._bare_request(message, obj)
        return self._shaped(text, stamp, level, message, obj, logger, offset, stream,
                            wrapper_time)

    cdef object _shaped(self, str text, stamp, level, message, dict attributes, logger,
                        offset, stream, wrapper_time):
        """The record of a common-shape line, its keys in the reference's order, the
        fallback time, stream and file as ``_finish`` gives them."""
        record = _new_record(text)
        PyDict_SetItem(record, "timestamp", stamp)
        PyDict_SetItem(record, "level", level)
        PyDict_SetItem(record, "message", message)
        PyDict_SetItem(record, "attributes", attributes)
        if logger is not None:
            PyDict_SetItem(record, "logger", logger)
        if not stamp:  # none, or IMPOSSIBLE ("")
            PyDict_SetItem(record, "timestamp", self._fallback_time(record, wrapper_time))
        if stream is not None:
            PyDict_SetItem(record, "stream", stream)
        PyDict_SetItem(record, "file", self._file_of(offset))
        return record

    cdef object _level_word(self, object word):
        """``text_levels.get(word)`` for a str ``word``: the words met so far are matched
        by their characters (no hash: orjson's strings come without one); ``text_levels``
        is a constant table."""
        cdef Py_ssize_t n = _json_len(word), i
        cdef const char* data
        cdef object seen
        if not _json_ascii(word):
            return self._levels.get(word)
        data = _json_data(word)
        for i in range(len(self._words)):
            seen = <object>PyList_GET_ITEM(self._words, i)
            if _json_len(<object>PyTuple_GET_ITEM(seen, 0)) == n and memcmp(
                    _json_data(<object>PyTuple_GET_ITEM(seen, 0)), data, n) == 0:
                return <object>PyTuple_GET_ITEM(seen, 1)
        level = self._levels.get(word)
        if len(self._words) < _WORDS_SEEN:
            self._words.append((word, level))
        return level

    cdef object _level_at(self, PyObject** vals, int* at):
        """``_take_level``'s result, when ``"level"`` holds no string, in the cases where
        its first key with a value takes it at once: a number under ``"level"`` that
        ``normalize_level`` knows (``*at`` -1: ``tidy_node`` is due), a level word under
        the first of ``severity``, ``levelname``... present when ``"level"`` is absent or
        null (``*at`` its slot); ``None`` for every other case (the call maps it)."""
        cdef PyObject* v = vals[_S_LEVEL]
        cdef int i
        if v != NULL and v != _json_none:
            if _json_type(v) == _json_int_type:
                at[0] = -1
                return self._normalize_level(<object>v)
            return None
        for i in range(_S_LEVEL + 1, _S_TIME):
            v = vals[i]
            if v != NULL and v != _json_none:
                if _json_type(v) == _json_str_type:
                    at[0] = i
                    return self._level_word(<object>v)
                return None
        return None

    cdef object _slot_time(self, dict obj, PyObject** keys, PyObject** vals):
        """``_timestamp`` on the time keys' values as scanned (``obj`` lost none of them
        since: only the message and level keys went)."""
        cdef bint impossible = False
        cdef PyObject* v
        cdef void* kind
        cdef int i
        for i in range(_S_TIME, _S_SOURCE):
            v = vals[i]
            if v == NULL or v == _json_none:
                continue
            kind = _json_type(v)
            if kind == _json_str_type:
                stamp = self._string_time(<str><object>v)
            elif kind == _json_float_type:
                stamp = self._float_time(<object>v)
            elif kind == _json_int_type:
                stamp = self._from_epoch(<object>v)
            else:
                continue
            if stamp:
                PyDict_DelItem(obj, <object>keys[i])
                return stamp
            impossible = impossible or stamp is not None
        return self._impossible if impossible else None

    cdef object _timestamp(self, dict obj):
        cdef bint impossible = False
        for key in self._time_keys:
            value = obj.get(key)
            if value is None:
                continue
            kind = type(value)
            if kind is str:
                stamp = self._string_time(<str>value)
            elif kind is float:
                stamp = self._float_time(value)
            elif kind is int:
                stamp = self._from_epoch(value)
            else:
                continue
            if stamp:
                PyDict_DelItem(obj, key)
                return stamp
            impossible = impossible or stamp is not None
        return self._impossible if impossible else None

    cdef object _string_time(self, str text):
        """``TimestampNormalizer.from_string``: its first test inline (a canonical
        ``...SS.fffZ`` string of the last good second passes as is, or cut to
        milliseconds); any other string through the call."""
        cdef Py_ssize_t size = _json_len(text), i
        cdef const char* data
        cdef object good
        if size < 24 or not _json_ascii(text):
            return self._from_string(text)
        data = _json_data(text)
        if data[size - 1] != 90 or data[19] != 46:  # "Z", "."
            return self._from_string(text)
        for i in range(20, size - 1):
            if data[i] < 48 or data[i] > 57:
                return self._from_string(text)
        good = _slot_get(self._stamps, self._m_good_second)
        if type(good) is str and _json_len(good) == 19 and _json_ascii(good):
            if memcmp(data, _json_data(good), 19) != 0:
                return self._from_string(text)
        elif not text.startswith(good):
            return self._from_string(text)
        return text if size == 24 else __pyx_json_millis(text)

    cdef object _float_time(self, object value):
        """``TimestampNormalizer.from_epoch`` for a float: seconds of the normalizer's
        last epoch second inline (``round`` is half-even, as ``rint``), else the call."""
        cdef double seconds_f = value
        cdef long long millis_total, seconds
        if self._number_floor <= seconds_f < 1e11:
            millis_total = <long long>rint(seconds_f * 1000.0)
            seconds = millis_total // 1000
            last = _slot_get(self._stamps, self._m_epoch_second)
            if type(last) is int and <long long>last == seconds:
                return (_slot_get(self._stamps, self._m_epoch_prefix)
                        + self._millis_tails[millis_total - seconds * 1000])
        return self._from_epoch(value)
