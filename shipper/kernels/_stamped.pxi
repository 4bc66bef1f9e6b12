# --- whole ISO-stamped lines (KERNEL_API 10): the line's time, the frameworks' gates, then
# ``stamped_fields`` or zap's console. Twin: ``pure_text.stamped_line`` (read its docstring).

cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    unsigned char* PyUnicode_1BYTE_DATA_W "PyUnicode_1BYTE_DATA"(object text)

cdef inline bint _dig(const unsigned char* d, Py_ssize_t at, Py_ssize_t count) noexcept:
    cdef Py_ssize_t i
    for i in range(at, at + count):
        if d[i] < 48 or d[i] > 57:
            return False
    return True


cdef inline bint _word_char(unsigned char ch) noexcept:
    return (48 <= ch <= 57) or (65 <= ch <= 90) or (97 <= ch <= 122) or ch == 95


cdef Py_ssize_t _zone_end1(const unsigned char* d, Py_ssize_t q, Py_ssize_t n) noexcept:
    """``_zone_end`` over ASCII bytes."""
    cdef unsigned char ch
    cdef Py_ssize_t end = -1
    if q >= n:
        return -1
    ch = d[q]
    if ch == 90 or ch == 122:  # Z z
        end = q + 1
    elif q + 3 <= n and (memcmp(d + q, b"UTC", 3) == 0 or memcmp(d + q, b"GMT", 3) == 0):
        end = q + 3
    elif (ch == 43 or ch == 45) and q + 5 <= n and _dig(d, q + 1, 2):
        if d[q + 3] == 58:
            if q + 6 <= n and _dig(d, q + 4, 2):
                end = q + 6
        elif _dig(d, q + 3, 2):
            end = q + 5
    if end < 0:
        return -1
    if end < n and (d[end] == 58 or _word_char(d[end])):
        return -1
    return end


cdef bint _utc_zone(const unsigned char* d, Py_ssize_t s, Py_ssize_t e) noexcept:
    """``d[s:e]`` is one of ``timestamps._UTC_ZONES``."""
    cdef Py_ssize_t size = e - s
    if size == 1:
        return d[s] == 90 or d[s] == 122
    if size == 3:
        return memcmp(d + s, b"UTC", 3) == 0 or memcmp(d + s, b"GMT", 3) == 0
    if size == 5:
        return (d[s] == 43 or d[s] == 45) and memcmp(d + s + 1, b"0000", 4) == 0
    if size == 6:
        return (d[s] == 43 or d[s] == 45) and memcmp(d + s + 1, b"00:00", 5) == 0
    return False


cdef Py_ssize_t _find_lit(const unsigned char* d, Py_ssize_t start, Py_ssize_t stop,
                          const char* lit, Py_ssize_t size) noexcept:
    """Index of ``lit`` lying wholly in ``d[start:stop]``, else -1."""
    cdef const unsigned char* at
    while start + size <= stop:
        at = <const unsigned char*>memchr(d + start, lit[0], <size_t>(stop - size + 1 - start))
        if at == NULL:
            return -1
        start = at - d
        if memcmp(at, lit, size) == 0:
            return start
        start += 1
    return -1


cdef inline bint _is_caller(const unsigned char* d, Py_ssize_t s, Py_ssize_t e) noexcept:
    """``text._CALLER`` (``\\S+:\\d+$``) matches ``d[s:e]`` (ASCII, no newline)."""
    cdef Py_ssize_t i = e
    while i > s and 48 <= d[i - 1] <= 57:
        i -= 1
    if i == e or i - 1 <= s or d[i - 1] != 58:
        return False
    while s < i:
        if _TCLASS[d[s]] & 1:
            return False
        s += 1
    return True


cdef object _zap(stamp, str text, const unsigned char* d, Py_ssize_t s, Py_ssize_t n,
                 dict levels, Py_ssize_t max_depth, bint whole):
    """``TextParser._zap_console`` of ``text[s:]`` (after the tab), or ``None``; with
    ``whole``, in the line's ``Record`` (``_text_fields``)."""
    cdef Py_ssize_t starts[8]
    cdef Py_ssize_t stops[8]
    cdef Py_ssize_t count = 0, i = s, k, brackets, ms = n, me = n
    cdef const unsigned char* tab
    cdef dict record, attributes
    cdef object fields = None, logger = None, caller = None, value
    while True:
        if count == 8:
            return None
        starts[count] = i
        tab = <const unsigned char*>memchr(d + i, 9, <size_t>(n - i))
        if tab == NULL:
            stops[count] = n
            count += 1
            break
        stops[count] = tab - d
        count += 1
        i = tab - d + 1
    for i in range(starts[0], stops[0]):
        if _TCLASS[d[i]] & 1:  # strip() would change the word
            return None
    level = levels.get(_text_word(d + starts[0], stops[0] - starts[0]))
    if level is None:
        return None
    k = count - 1
    if count > 2 and stops[k] > starts[k] and d[starts[k]] == 123:  # "{"
        if stops[k] - starts[k] > 2 * max_depth:
            brackets = 0
            for i in range(starts[k], stops[k]):
                if d[i] == 123 or d[i] == 91:
                    brackets += 1
            if brackets > max_depth:
                return None
        try:
            value = _json_loads(text[starts[k]:stops[k]])
        except _JSONDecodeError:
            value = None
        if type(value) is dict:
            fields = value
            count -= 1
    if count > 1:
        count -= 1
        ms, me = starts[count], stops[count]
    for k in range(1, count):
        if _is_caller(d, starts[k], stops[k]):
            caller = _text_word(d + starts[k], stops[k] - starts[k])
        else:
            logger = _text_word(d + starts[k], stops[k] - starts[k])
    value = _text_fields(stamp, level, text, ms, me, logger, whole)
    if value is None:
        return None
    record = <dict>value
    if caller is not None or fields:
        attributes = <dict>record["attributes"]
        if caller is not None:
            attributes["caller"] = caller
        if fields:
            PyDict_Update(attributes, fields)
    return record


cdef object _stamp_of(str good, const unsigned char* d, Py_ssize_t fs, Py_ssize_t fe):
    """``good`` (``date T clock``) ``.mmm Z`` with the fraction ``d[fs:fe]``."""
    cdef object stamp = PyUnicode_New(24, 127)
    cdef unsigned char* out = PyUnicode_1BYTE_DATA_W(stamp)
    cdef Py_ssize_t i
    memcpy(out, PyUnicode_1BYTE_DATA(good), 19)
    out[19] = 46
    for i in range(3):
        out[20 + i] = d[fs + i] if fs + i < fe else 48
    out[23] = 90
    return stamp


def stamped_line(str text, str good, bint utc_default, dict levels, Py_ssize_t max_depth):
    return _stamped_line(text, good, utc_default, levels, max_depth, None, False)


cdef object _stamped_line(str text, str good, bint utc_default, dict levels,
                          Py_ssize_t max_depth, object stamps, bint whole):
    """``stamped_line``; given the normalizer ``stamps`` (the ``JsonLines`` text route),
    also a line of another second (or zone) that passes every gate and whose rest reads:
    its time from ``stamps.from_iso_parts`` as ``TextParser._stamped`` takes it (KERNEL_API
    40: the first line of each new second no longer goes the general way); with ``whole``,
    the fields come in the line's ``Record`` (``_text_fields``), for the caller to place."""
    cdef Py_ssize_t n = len(text), p = 19, q, zend, fs = 0, fe = 0, zs = -1, ze = -1
    cdef Py_ssize_t end, w
    cdef const unsigned char* d
    cdef const unsigned char* at
    cdef unsigned char second
    cdef bint other
    if n < 19 or not PyUnicode_IS_ASCII(text):
        return None
    d = PyUnicode_1BYTE_DATA(text)
    if d[0] < 48 or d[0] > 57 or d[4] != 45 or d[7] != 45 or d[13] != 58 or d[16] != 58 \
            or not (d[10] == 84 or d[10] == 32):
        return None  # not an ISO date-time with "-" (Go's "/" goes the general way)
    if not (_dig(d, 0, 4) and _dig(d, 5, 2) and _dig(d, 8, 2) and _dig(d, 11, 2)
            and _dig(d, 14, 2) and _dig(d, 17, 2)):
        return None
    # the time: the last good UTC second (``from_iso_parts``' first branch), else the
    # normalizer's, asked once the line is known to be read here (``_other_second``)
    other = len(good) != 19 or not PyUnicode_IS_ASCII(good) \
        or memcmp(d, PyUnicode_1BYTE_DATA(good), 10) != 0 \
        or memcmp(d + 11, PyUnicode_1BYTE_DATA(good) + 11, 8) != 0
    if other and stamps is None:
        return None
    if p + 1 < n and (d[p] == 46 or d[p] == 44) and 48 <= d[p + 1] <= 57:
        q = p + 2
        while q < n and 48 <= d[q] <= 57:
            q += 1
        fs, fe, p = p + 1, q, q
    q = p + 1 if p < n and d[p] == 32 else p
    zend = _zone_end1(d, q, n)
    if zend >= 0:
        zs, ze, p = q, zend, zend
    if not other and not (_utc_zone(d, zs, ze) if zs >= 0 else utc_default):
        return None
    end = p
    # the gates of combined access lines, nginx/PostgreSQL and Frameworks.stamped
    at = d
    while True:
        at = <const unsigned char*>memchr(at, 93, <size_t>(n - (at - d)))  # "]"
        if at == NULL:
            break
        if at - d + 2 < n and at[1] == 32 and at[2] == 34:
            return None
        at += 1
    if _find_lit(d, end, min(end + 7, n), b" [", 2) >= 0:
        return None
    if end < n and d[end] == 9:  # zap's console, unless Ray's driver may match
        if _find_lit(d, end, n, b" -- ", 4) >= 0 or memchr(d, 10, <size_t>n) != NULL:
            return None
        if other:
            return _other_second(stamps, _zap(None, text, d, end + 1, n, levels, max_depth,
                                              whole), text, fs, fe, zs, ze, end)
        return _zap(_stamp_of(good, d, fs, fe), text, d, end + 1, n, levels, max_depth, whole)
    if end + 1 < n:
        second = d[end + 1]
        if second == 32 or second == 91 or second == 84 or second == 68 or second == 73 \
                or second == 87 or second == 69 or second == 70:  # " [TDIWEF": JVM, Rust
            if d[end] == 32 and second == 91:
                return None
            if _find_lit(d, end + 4, min(end + 8, n), b" [", 2) >= 0:
                return None
            if _find_lit(d, end + 4, min(end + 160, n), b" --- ", 5) >= 0:
                return None
            if d[end] == 32 and fe > fs and zs >= 0:
                return None
    if other:
        return _other_second(stamps, _stamped_at(None, text, d, end, n, levels, True, whole),
                             text, fs, fe, zs, ze, end)
    return _stamped_at(_stamp_of(good, d, fs, fe), text, d, end, n, levels, True, whole)


cdef object _other_second(stamps, object fields, str text, Py_ssize_t fs, Py_ssize_t fe,
                          Py_ssize_t zs, Py_ssize_t ze, Py_ssize_t end):
    """``fields`` (read with no time, which they only carry) given the time
    ``TextParser._stamped`` gives them: ``from_iso_parts`` of the prefix's groups, asked
    only for a line read here (the normalizer's state moves as the reference moves it),
    and an impossible one kept as written."""
    if fields is None:
        return None
    stamp = stamps.from_iso_parts(text[:10], text[11:19], text[fs:fe] if fe > fs else None,
                                  text[zs:ze] if zs >= 0 else None)
    (<dict>fields)["timestamp"] = stamp
    if not stamp:
        (<dict>fields)["attributes"]["invalid_timestamp"] = text[:end].rstrip()
    return fields
