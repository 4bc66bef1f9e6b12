# === text lines (helper `text`): the partial record of a text line ==========================
# Twin: shipper.kernels.pure_text.text_fields (read its docstring). ASCII messages only; any
# other case returns None and the caller builds the record the general way. KERNEL_API 17:
# a bare request (``GET /path 200``) is read here, no longer declined.

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object text)
    const unsigned char* PyUnicode_1BYTE_DATA(object text)
    dict _text_presized "_PyDict_NewPresized"(Py_ssize_t minused)
    int _text_kind "PyUnicode_KIND"(object text)

cdef extern from *:
    """
    /* the strings of ASCII bytes, made without a scan; a short word (a key, a level, a
       logger) is the object its slot kept the last time the same bytes came (a bounded
       table of 256 slots for the process, never freed: keys repeat, and a key reused
       keeps its hash) */
    #define __PYX_TEXT_SLOTS 256
    #define __PYX_TEXT_LONGEST 32
    static PyObject* __pyx_text_words[__PYX_TEXT_SLOTS];

    static PyObject* __pyx_text_ascii(const unsigned char* d, Py_ssize_t n) {
        PyObject* out;
        if (n <= 1) return PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, d, n < 0 ? 0 : n);
        out = PyUnicode_New(n, 127);
        if (out != NULL) memcpy(PyUnicode_DATA(out), d, (size_t)n);
        return out;
    }

    static PyObject* __pyx_text_word(const unsigned char* d, Py_ssize_t n) {
        size_t h = (size_t)n;
        Py_ssize_t i;
        PyObject *got, *out;
        if (n <= 1 || n > __PYX_TEXT_LONGEST) return __pyx_text_ascii(d, n);
        for (i = 0; i < n; i++) h = h * 31 + d[i];
        h = (h ^ (h >> 11)) & (__PYX_TEXT_SLOTS - 1);
        got = __pyx_text_words[h];
        if (got != NULL && PyUnicode_GET_LENGTH(got) == n
                && memcmp(PyUnicode_DATA(got), d, (size_t)n) == 0) {
            Py_INCREF(got);
            return got;
        }
        out = __pyx_text_ascii(d, n);
        if (out == NULL) return NULL;
        Py_INCREF(out);
        __pyx_text_words[h] = out;
        Py_XDECREF(got);
        return out;
    }
    """
    object _text_ascii "__pyx_text_ascii"(const unsigned char* d, Py_ssize_t n)
    object _text_word "__pyx_text_word"(const unsigned char* d, Py_ssize_t n)

# bit 1 white space (as str.split), bit 2 key head, bit 4 key character (ASCII)
cdef unsigned char _TCLASS[128]


cdef void _fill_text_classes():
    cdef int ch
    for ch in range(128):
        _TCLASS[ch] = ((1 if ch == 32 or (9 <= ch <= 13) or (28 <= ch <= 31) else 0)
                       | (2 if (97 <= ch <= 122 or 65 <= ch <= 90 or ch == 95 or ch == 64)
                          else 0)
                       | (4 if (97 <= ch <= 122 or 65 <= ch <= 90 or 48 <= ch <= 57
                                or ch == 95 or ch == 46 or ch == 45 or ch == 47 or ch == 64)
                          else 0))


_fill_text_classes()

cdef tuple _REQUEST_HEADS = (b"GET /", b"POST /", b"PUT /", b"PATCH /", b"DELETE /",
                             b"HEAD /", b"OPTIONS /", b"CONNECT /", b"TRACE /")


cdef enum:
    _TEXT_PAIRS = 32  # the pairs ``_text_fields`` keeps from its scan back


from collections import Counter as _Counter


cdef int _text_count(formats, fmt) except -1:
    """``formats[fmt] += 1``; for a ``Counter`` (its ``__setitem__`` is ``dict``'s, its
    ``__missing__`` gives 0) set as ``dict`` sets it: ``Counter`` defines ``__delitem__``,
    which sends every ``formats[fmt] = n`` through a Python-level slot (~1.5k
    instructions)."""
    if type(formats) is not _Counter:
        formats[fmt] += 1
        return 0
    PyDict_SetItem(formats, fmt, (<dict>formats).get(fmt, 0) + 1)
    return 0


cdef bint _text_holds(str text, str part, Py_ssize_t k) except -1:
    """``part in text`` (``part`` ASCII), found from its ``k``th character, a rare one:
    a one-byte ``text`` is searched with ``memchr``."""
    cdef Py_ssize_t n = len(text), size = len(part), i = k
    cdef const unsigned char* d
    cdef const unsigned char* p = PyUnicode_1BYTE_DATA(part)
    cdef const unsigned char* at
    if _text_kind(text) != 1:
        return part in text
    d = PyUnicode_1BYTE_DATA(text)
    while i + size - k <= n:
        at = <const unsigned char*>memchr(d + i, p[k], <size_t>(n - (size - k) + 1 - i))
        if at == NULL:
            return False
        i = at - d
        if memcmp(d + i - k, p, <size_t>size) == 0:
            return True
        i += 1
    return False


cdef inline Py_ssize_t _text_eq(const unsigned char* data, Py_ssize_t start,
                                Py_ssize_t stop) noexcept:
    """Index of the ``=`` ending a valid key in the ASCII word ``[start, stop)``, else -1."""
    cdef Py_ssize_t i = start
    cdef unsigned char ch
    while i < stop:
        ch = data[i]
        if ch == 61:
            return i if i > start else -1
        if not (_TCLASS[ch] & (2 if i == start else 4)):
            return -1
        i += 1
    return -1


cdef int _bare_request(const unsigned char* data, Py_ssize_t n, dict attributes) except -1:
    """``access.bare_request`` of the message ``data[:n]`` (ASCII): ``METHOD /path STATUS``
    then a non-word character or the end (``pure_text.BARE_REQUEST``) adds method, path and
    status, unless the pairs gave a ``method``."""
    cdef bytes head
    cdef Py_ssize_t size = 0, i, k
    for head in _REQUEST_HEADS:
        size = len(head)
        if size <= n and memcmp(data, <const char*>head, size) == 0:
            break
    else:
        return 0
    i = size
    while i < n and not (_TCLASS[data[i]] & 1):  # the path: \S*
        i += 1
    if i + 4 > n or data[i] != 32:
        return 0
    for k in range(i + 1, i + 4):
        if data[k] < 48 or data[k] > 57:
            return 0
    if i + 4 < n and (48 <= data[i + 4] <= 57 or 65 <= data[i + 4] <= 90
                      or 97 <= data[i + 4] <= 122 or data[i + 4] == 95):  # \b
        return 0
    if "method" in attributes:
        return 0
    attributes["method"] = _text_word(data, size - 2)
    attributes["path"] = _text_ascii(data + size - 1, i - size + 1)
    attributes["status"] = (data[i + 1] - 48) * 100 + (data[i + 2] - 48) * 10 + data[i + 3] - 48
    return 0


cdef int _text_pairs(const unsigned char* data, Py_ssize_t i, Py_ssize_t n,
                     dict attributes) except -1:
    """The ``key=value`` words of ``data[i:n]`` (each one a pair) into ``attributes``."""
    cdef Py_ssize_t word_start, eq
    while i < n:
        while i < n and _TCLASS[data[i]] & 1:
            i += 1
        if i == n:
            break
        word_start = i
        while i < n and not (_TCLASS[data[i]] & 1):
            i += 1
        eq = _text_eq(data, word_start, i)
        attributes[_text_word(data + word_start, eq - word_start)] = \
            _text_ascii(data + eq + 1, i - eq - 1)
    return 0


def text_fields(stamp, level, str message, logger):
    if not PyUnicode_IS_ASCII(message):
        return None
    return _text_fields(stamp, level, message, 0, len(message), logger, False)


cdef object _text_fields(stamp, level, str text, Py_ssize_t start, Py_ssize_t stop, logger,
                         bint whole):
    """``text_fields`` of the message ``text[start:stop]`` (ASCII), read in place: its
    words are made once, the keys through the word table, the attributes sized for the
    pairs; with ``whole`` (``text`` the whole line), the fields are put in the line's
    ``Record`` as ``FileParser._complete`` makes it (raw ``text``), not in a dict."""
    cdef Py_ssize_t n, i, word_end, run_start = -1, pairs = 0, k
    cdef Py_ssize_t head_end, eq
    cdef Py_ssize_t keys[_TEXT_PAIRS]
    cdef Py_ssize_t eqs[_TEXT_PAIRS]
    cdef Py_ssize_t ends[_TEXT_PAIRS]
    cdef const unsigned char* data
    cdef dict attributes, record
    cdef object head
    if start > stop:
        start = stop
    n = stop - start
    data = PyUnicode_1BYTE_DATA(text) + start
    head_end = n
    if n and memchr(data, 61, <size_t>n) != NULL:  # "="
        if n > 4096 or memchr(data, 34, <size_t>n) != NULL:  # huge, or a quote
            return None
        i = n
        while True:  # backwards over the words that read key=value
            while i > 0 and _TCLASS[data[i - 1]] & 1:
                i -= 1
            if i == 0:
                head_end = 0
                break
            word_end = i
            while i > 0 and not (_TCLASS[data[i - 1]] & 1):
                i -= 1
            eq = _text_eq(data, i, word_end)
            if eq < 0:
                head_end = word_end
                break
            if pairs < _TEXT_PAIRS:  # kept for the way forward
                keys[pairs], eqs[pairs], ends[pairs] = i, eq, word_end
            run_start = i
            pairs += 1
    if run_start >= 0:
        attributes = _text_presized(pairs) if pairs > 5 else {}
        if pairs > _TEXT_PAIRS:
            _text_pairs(data, run_start, n, attributes)
        else:
            for k in range(pairs - 1, -1, -1):
                attributes[_text_word(data + keys[k], eqs[k] - keys[k])] = \
                    _text_ascii(data + eqs[k] + 1, ends[k] - eqs[k] - 1)
        head = _text_ascii(data, head_end)
    else:
        attributes = {}
        head = text if start == 0 and stop == len(text) else _text_ascii(data, n)
        head_end = n
    if head_end >= 9 and data[0] in b"GPDHOCT":
        _bare_request(data, head_end, attributes)
    if whole:
        record = <dict>_new_record(text)
        record["timestamp"] = stamp
        record["level"] = level or "info"
        record["message"] = head
        record["attributes"] = attributes
    else:
        record = {"timestamp": stamp, "level": level or "info", "message": head,
                  "attributes": attributes}
    if logger:
        record["logger"] = logger
    return record


cdef inline Py_ssize_t _find3(const unsigned char* data, Py_ssize_t start, Py_ssize_t n):
    """Index of the next `` - `` at or after ``start``, else -1."""
    cdef const unsigned char* at
    cdef Py_ssize_t dash = start + 1
    while dash + 2 <= n:
        at = <const unsigned char*>memchr(data + dash, 45, <size_t>(n - dash))  # "-"
        if at == NULL:
            return -1
        dash = at - data
        if dash + 1 < n and data[dash - 1] == 32 and data[dash + 1] == 32:
            return dash - 1
        dash += 1
    return -1


cdef inline bint _logger_name(const unsigned char* data, Py_ssize_t start, Py_ssize_t stop):
    """``data[start:stop]`` is a logger name of ``[A-Za-z0-9_.-:/<>$]`` (not empty)."""
    cdef unsigned char ch
    if stop <= start:
        return False
    while start < stop:
        ch = data[start]
        if not (_TCLASS[ch] & 4 or ch == 58 or ch == 60 or ch == 62 or ch == 36) or ch == 64:
            return False
        start += 1
    return True


def stamped_fields(stamp, str rest, dict levels):
    if not PyUnicode_IS_ASCII(rest):
        return None
    return _stamped_at(stamp, rest, PyUnicode_1BYTE_DATA(rest), 0, len(rest), levels, False,
                       False)


cdef inline bint _level_strips(unsigned char ch) noexcept:
    """``ch`` is one of the ``[]()<>:`` that ``levels.level_word`` strips off a word."""
    return ch == 91 or ch == 93 or ch == 40 or ch == 41 or ch == 60 or ch == 62 or ch == 58


cdef object _unleveled(stamp, str text, const unsigned char* data, Py_ssize_t i,
                       Py_ssize_t a, Py_ssize_t n, dict levels, bint whole):
    """``pure_text._unleveled`` of ``text[i:]``, its first word ``text[i:a]``: the whole
    rest the message, level ``info``, when neither word can be a level word."""
    cdef Py_ssize_t b = a, e
    if a == i or _level_strips(data[i]) or _level_strips(data[a - 1]):
        return None
    while b < n and data[b] == 32:
        b += 1
    e = b
    while e < n and data[e] != 32:
        e += 1
    if e > b and (_level_strips(data[b]) or _level_strips(data[e - 1])
                  or levels.get(_text_word(data + b, e - b)) is not None):
        return None
    return _text_fields(stamp, None, text, i, n, None, whole)


cdef object _stamped_at(stamp, str text, const unsigned char* data, Py_ssize_t i,
                        Py_ssize_t n, dict levels, bint body, bint whole):
    """``stamped_fields`` of ``text[i:]`` (ASCII), read in place; with ``body``, also a
    rest whose first word is no level word (``_unleveled``)."""
    cdef Py_ssize_t a, b, s, e, start
    if i < n and data[i] == 9:  # a tab: zap's console
        return None
    while i < n and data[i] == 32:
        i += 1
    if i < n and data[i] == 124:  # "|": loguru, pipes
        return None
    if i + 1 < n and data[i] == 45 and data[i + 1] == 32:  # "- ": name - LEVEL - msg
        i += 2
        a = _find3(data, i, n)
        if a < 0:
            return None
        b = _find3(data, a + 3, n)
        if b < 0:
            return None
        s, e = a + 3, b
        while s < e and _TCLASS[data[s]] & 1:
            s += 1
        while e > s and _TCLASS[data[e - 1]] & 1:
            e -= 1
        level = levels.get(_text_word(data + s, e - s))
        if level is None or not _logger_name(data, i, a):
            return None
        return _text_fields(stamp, level, text, b + 3, n, _text_word(data + i, a - i), whole)
    a = i
    while a < n and data[a] != 32:  # the first word: a level
        a += 1
    level = levels.get(_text_word(data + i, a - i))
    if level is None:
        return _unleveled(stamp, text, data, i, a, n, levels, whole) if body else None
    a += 1
    while a < n and data[a] == 32:
        a += 1
    if a < n and data[a] == 91:  # "[": a thread
        return None
    if _find3(data, a, n) >= 0:  # a logger before " - "
        return None
    return _text_fields(stamp, level, text, a, n, None, whole)
