def split_lines(bytes data, Py_ssize_t start, Py_ssize_t end, long long base,
                Py_ssize_t limit, list lines, set truncated):
    cdef const char* buf = PyBytes_AS_STRING(data)
    cdef Py_ssize_t pos = start, stop, skip, size
    cdef const char* nl
    cdef long long offset
    if start < 0 or end > PyBytes_GET_SIZE(data) or start > end or limit < 1:
        raise ValueError("split_lines: need 0 <= start <= end <= len(data) and limit >= 1")
    while True:
        nl = <const char*>memchr(buf + pos, 10, <size_t>(end - pos))
        stop = end if nl == NULL else nl - buf
        skip = pos
        while skip < stop and buf[skip] == 0:
            skip += 1
        if skip == pos or skip < stop:  # a line of NULs only is dropped
            size = stop - skip
            offset = base + skip
            if size > limit:
                truncated.add(offset)
                size = limit
            lines.append((offset, PyBytes_FromStringAndSize(buf + skip, size)))
        if nl == NULL:
            return
        pos = stop + 1


cdef extern from "Python.h":
    int PyUnicode_KIND(object text)
    void* PyUnicode_DATA(object text)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index) nogil


cdef inline bint _key_head(Py_UCS4 ch):
    return (ch >= 97 and ch <= 122) or (ch >= 65 and ch <= 90) or ch == 95 or ch == 64


cdef inline bint _key_char(Py_UCS4 ch):
    if ch < 128:
        return ((ch >= 97 and ch <= 122) or (ch >= 65 and ch <= 90) or (ch >= 48 and ch <= 57)
                or ch == 95 or ch == 46 or ch == 45 or ch == 47 or ch == 64)
    return Py_UNICODE_ISALNUM(ch)


cdef inline bint _space(int kind, void* data, Py_ssize_t i):
    cdef Py_UCS4 ch = PyUnicode_READ(kind, data, i)
    if ch < 128:
        return ch == 32 or (ch >= 9 and ch <= 13) or (ch >= 28 and ch <= 31)
    return Py_UNICODE_ISSPACE(ch)


cdef Py_ssize_t _pair_eq(int kind, void* data, Py_ssize_t start, Py_ssize_t stop):
    """Index of the ``=`` ending a valid key in the word ``[start, stop)``, else -1."""
    cdef Py_ssize_t i = start
    cdef Py_UCS4 ch
    while i < stop:
        ch = PyUnicode_READ(kind, data, i)
        if ch == 61:
            return i if i > start else -1
        if not (_key_head(ch) if i == start else _key_char(ch)):
            return -1
        i += 1
    return -1


# ASCII classes for the one-byte loop below: bit 1 space, 2 key head, 4 key character
cdef unsigned char _CLASS[128]


cdef void _fill_classes():
    cdef int ch
    for ch in range(128):
        _CLASS[ch] = ((1 if ch == 32 or (9 <= ch <= 13) or (28 <= ch <= 31) else 0)
                      | (2 if _key_head(ch) else 0) | (4 if _key_char(ch) else 0))


_fill_classes()


cdef inline bint _space1(const unsigned char* data, Py_ssize_t i):
    cdef unsigned char ch = data[i]
    if ch < 128:
        return _CLASS[ch] & 1
    return Py_UNICODE_ISSPACE(ch)


cdef Py_ssize_t _pair_eq1(const unsigned char* data, Py_ssize_t start, Py_ssize_t stop):
    """``_pair_eq`` over one-byte characters (a table lookup per ASCII character)."""
    cdef Py_ssize_t i = start
    cdef unsigned char ch
    while i < stop:
        ch = data[i]
        if ch == 61:
            return i if i > start else -1
        if ch < 128:
            if not (_CLASS[ch] & (2 if i == start else 4)):
                return -1
        elif i == start or not Py_UNICODE_ISALNUM(ch):
            return -1
        i += 1
    return -1


cdef tuple _trailing_pairs1(str message, const unsigned char* data, Py_ssize_t n):
    """``trailing_pairs`` for a one-byte (Latin-1) string: the same two walks, reading
    bytes instead of ``PyUnicode_READ`` (a switch on the kind per character)."""
    cdef Py_ssize_t i = n, word_end, word_start, run_start = -1, head_end = 0, eq
    cdef dict pairs
    while True:
        while i > 0 and _space1(data, i - 1):
            i -= 1
        if i == 0:
            break
        word_end = i
        while i > 0 and not _space1(data, i - 1):
            i -= 1
        word_start = i
        if _pair_eq1(data, word_start, word_end) < 0:
            head_end = word_end
            break
        run_start = word_start
    if run_start < 0:
        return message, None
    pairs = {}
    i = run_start
    while i < n:
        while i < n and _space1(data, i):
            i += 1
        if i == n:
            break
        word_start = i
        while i < n and not _space1(data, i):
            i += 1
        eq = _pair_eq1(data, word_start, i)
        pairs[message[word_start:eq]] = message[eq + 1:i]
    return message[:head_end], pairs


def trailing_pairs(str message):
    cdef Py_ssize_t n = len(message), i = n, word_end, word_start, run_start = -1
    cdef Py_ssize_t head_end = 0, eq
    cdef int kind = PyUnicode_KIND(message)
    cdef void* data = PyUnicode_DATA(message)
    cdef dict pairs
    if kind == 1:
        return _trailing_pairs1(message, <const unsigned char*>data, n)
    while True:
        while i > 0 and _space(kind, data, i - 1):
            i -= 1
        if i == 0:
            break
        word_end = i
        while i > 0 and not _space(kind, data, i - 1):
            i -= 1
        word_start = i
        if _pair_eq(kind, data, word_start, word_end) < 0:
            head_end = word_end
            break
        run_start = word_start
    if run_start < 0:
        return message, None
    pairs = {}
    i = run_start
    while i < n:
        while i < n and _space(kind, data, i):
            i += 1
        if i == n:
            break
        word_start = i
        while i < n and not _space(kind, data, i):
            i += 1
        eq = _pair_eq(kind, data, word_start, i)
        pairs[message[word_start:eq]] = message[eq + 1:i]
    return message[:head_end], pairs


cdef inline bint _digit(Py_UCS4 ch):
    return ch >= 48 and ch <= 57


cdef inline bint _digits(str text, Py_ssize_t at, Py_ssize_t count):
    cdef Py_ssize_t i
    for i in range(at, at + count):
        if not _digit(text[i]):
            return False
    return True


cdef Py_ssize_t _zone_end(str text, Py_ssize_t q, Py_ssize_t n):
    """End of ``Z|z|UTC|GMT|[+-]dd:?dd`` at ``q`` not followed by ``[A-Za-z0-9_:]``, or -1."""
    cdef Py_UCS4 ch
    cdef Py_ssize_t end = -1
    if q >= n:
        return -1
    ch = text[q]
    if ch == 90 or ch == 122:  # Z z
        end = q + 1
    elif q + 3 <= n and (text[q:q + 3] == "UTC" or text[q:q + 3] == "GMT"):
        end = q + 3
    elif (ch == 43 or ch == 45) and q + 5 <= n and _digits(text, q + 1, 2):
        if text[q + 3] == 58:  # +hh:mm (without the colon the next char is no digit)
            if q + 6 <= n and _digits(text, q + 4, 2):
                end = q + 6
        elif _digits(text, q + 3, 2):
            end = q + 5
    if end < 0:
        return -1
    if end < n:
        ch = text[end]
        if ch == 58 or ch == 95 or _digit(ch) or (ch >= 97 and ch <= 122) or (
                ch >= 65 and ch <= 90):
            return -1
    return end


def iso_prefix(str text):
    cdef Py_ssize_t n = len(text), p = 19, q, zend
    cdef Py_UCS4 sep, ch
    if n < 19:
        return None
    sep = text[4]
    if not (sep == 45 or sep == 47) or text[7] != sep or text[13] != 58 or text[16] != 58:
        return None
    ch = text[10]
    if not (ch == 84 or ch == 32):
        return None
    if not (_digits(text, 0, 4) and _digits(text, 5, 2) and _digits(text, 8, 2)
            and _digits(text, 11, 2) and _digits(text, 14, 2) and _digits(text, 17, 2)):
        return None
    frac = None
    if p + 1 < n and (text[p] == 46 or text[p] == 44) and _digit(text[p + 1]):
        q = p + 2
        while q < n and _digit(text[q]):
            q += 1
        frac = text[p + 1:q]
        p = q
    zone = None
    q = p + 1 if p < n and text[p] == 32 else p
    zend = _zone_end(text, q, n)
    if zend >= 0:
        zone = text[q:zend]
        p = zend
    return text[0:10], text[11:19], frac, zone, p


cdef inline bint _byte_digits(const unsigned char* buf, Py_ssize_t at, Py_ssize_t count):
    cdef Py_ssize_t i
    for i in range(at, at + count):
        if buf[i] < 48 or buf[i] > 57:
            return False
    return True


cdef Py_ssize_t _cri_stamp_end(const unsigned char* buf, Py_ssize_t n):
    """End of the CRI time ``YYYY-MM-DDTHH:MM:SS[.d{1,9}](Z|[+-]HH:MM)`` at ``buf[0]``,
    or -1 (the regex's optional fraction never needs backtracking: after it, or after
    its last digit, only a zone can follow)."""
    cdef Py_ssize_t p = 19, q
    if n < 20 or buf[4] != 45 or buf[7] != 45 or buf[10] != 84 or buf[13] != 58 \
            or buf[16] != 58:
        return -1
    if not (_byte_digits(buf, 0, 4) and _byte_digits(buf, 5, 2) and _byte_digits(buf, 8, 2)
            and _byte_digits(buf, 11, 2) and _byte_digits(buf, 14, 2)
            and _byte_digits(buf, 17, 2)):
        return -1
    if buf[p] == 46:  # .
        q = p + 1
        while q < n and q - p <= 9 and buf[q] >= 48 and buf[q] <= 57:
            q += 1
        if q == p + 1:
            return -1
        p = q
    if p < n and buf[p] == 90:  # Z
        return p + 1
    if p + 6 <= n and (buf[p] == 43 or buf[p] == 45) and buf[p + 3] == 58 \
            and _byte_digits(buf, p + 1, 2) and _byte_digits(buf, p + 4, 2):
        return p + 6
    return -1


_STDOUT = "stdout"
_STDERR = "stderr"


def cri_whole_lines(list lines, Py_ssize_t start, list out):
    cdef Py_ssize_t index, count = len(lines), n, p
    cdef const unsigned char* buf
    cdef tuple item
    cdef bytes raw
    cdef object stream
    if start < 0:
        raise ValueError("cri_whole_lines: need start >= 0")
    for index in range(start, count):
        item = <tuple?>lines[index]
        raw = <bytes?>item[1]
        buf = <const unsigned char*>PyBytes_AS_STRING(raw)
        n = PyBytes_GET_SIZE(raw)
        p = _cri_stamp_end(buf, n)
        # then " stdout F" or " stderr F", and a space or the end
        if p < 0 or p + 9 > n or buf[p] != 32 or buf[p + 7] != 32 or buf[p + 8] != 70 \
                or (p + 9 < n and buf[p + 9] != 32):
            return index
        if memcmp(buf + p + 1, b"stdout", 6) == 0:
            stream = _STDOUT
        elif memcmp(buf + p + 1, b"stderr", 6) == 0:
            stream = _STDERR
        else:
            return index
        out.append((item[0], PyBytes_FromStringAndSize(<const char*>buf + p + 10, n - p - 10)
                    if p + 10 < n else b"",
                    stream, PyUnicode_DecodeASCII(<const char*>buf, p, NULL)))
    return count
