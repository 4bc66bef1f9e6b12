# === tqdm progress states (helper `tqdm`, issue 16, KERNEL_API 44) ==========================
# Twin and reference: ``pure_tqdm.tqdm_progress`` (read its docstring). With a total, the
# possessive ``_TQDM_BAR`` is read left to right as sre reads it (each run possessive, each
# alternation decided by its first character), any text; without one, ``_TQDM_NO_TOTAL``
# (lazy ``desc``, then a tail with one backtracking choice: a scale letter followed by a
# digit or ``_`` opens the unit instead) on ASCII text only. Anything else (non-ASCII text
# without a total, digit runs too long for a C integer) goes to the twin.
from cpython.float cimport PyFloat_FromDouble
from shipper.kernels.pure_tqdm import tqdm_progress as _tqdm_reference

cdef extern from "Python.h":
    double PyOS_string_to_double(const char* s, char** endptr, void* overflow) except? -1.0

import builtins as _tq_builtins
cdef object _tq_round = _tq_builtins.round

cdef enum:
    _TQ_END = 0x110000  # past the end (no character)
    _TQ_RUN = 12  # longest digit run read as a C integer here


cdef struct _TqText:
    int kind
    void* data
    Py_ssize_t n


cdef inline Py_UCS4 _tq_at(_TqText* t, Py_ssize_t i) noexcept:
    if i < 0 or i >= t.n:
        return _TQ_END
    return PyUnicode_READ(t.kind, t.data, i)


cdef inline bint _tq_digit(Py_UCS4 c) noexcept:
    return 48 <= c <= 57


cdef inline bint _tq_letter(Py_UCS4 c) noexcept:
    return 65 <= c <= 90 or 97 <= c <= 122


cdef inline bint _tq_scale(Py_UCS4 c) noexcept:
    return (c == 107 or c == 77 or c == 71 or c == 84 or c == 80 or c == 69 or c == 90
            or c == 89)  # kMGTPEZY


cdef inline double _tq_scale_of(Py_UCS4 c) noexcept:
    if c == 107:
        return 1e3
    if c == 77:
        return 1e6
    if c == 71:
        return 1e9
    if c == 84:
        return 1e12
    if c == 80:
        return 1e15
    if c == 69:
        return 1e18
    if c == 90:
        return 1e21
    return 1e24


cdef inline Py_ssize_t _tq_digits(_TqText* t, Py_ssize_t p) noexcept:
    """The end of the digit run at ``p`` (``p`` itself: none)."""
    while _tq_digit(_tq_at(t, p)):
        p += 1
    return p


cdef inline Py_ssize_t _tq_scaled(_TqText* t, Py_ssize_t p, bint letter) noexcept:
    """``\\d+(?:\\.\\d+)?`` at ``p`` and, with ``letter``, a scale letter: its end, else -1."""
    cdef Py_ssize_t q = _tq_digits(t, p)
    if q == p:
        return -1
    if _tq_at(t, q) == 46 and _tq_digit(_tq_at(t, q + 1)):  # "."
        q = _tq_digits(t, q + 1)
    if letter and _tq_scale(_tq_at(t, q)):
        q += 1
    return q


cdef inline Py_ssize_t _tq_interval(_TqText* t, Py_ssize_t p) noexcept:
    """``(?:\\d+d, )?\\d+(?::\\d\\d){1,2}`` at ``p`` (greedy is the only way): its end, else -1."""
    cdef Py_ssize_t q = _tq_digits(t, p), count = 0
    if q > p and _tq_at(t, q) == 100 and _tq_at(t, q + 1) == 44 and _tq_at(t, q + 2) == 32:
        p = q + 3  # "d, "
        q = _tq_digits(t, p)
    if q == p:
        return -1
    while count < 2 and _tq_at(t, q) == 58 and _tq_digit(_tq_at(t, q + 1)) \
            and _tq_digit(_tq_at(t, q + 2)):
        q += 3
        count += 1
    return q if count else -1


cdef inline Py_ssize_t _tq_letters(_TqText* t, Py_ssize_t p) noexcept:
    while _tq_letter(_tq_at(t, p)):
        p += 1
    return p


cdef inline bint _tq_closes(_TqText* t, Py_ssize_t p) noexcept:
    """``\\]$`` at ``p``."""
    return _tq_at(t, p) == 93 and (p + 1 == t.n or (p + 2 == t.n and _tq_at(t, p + 1) == 10))


cdef inline Py_ssize_t _tq_rate_tail(_TqText* t, Py_ssize_t p, Py_ssize_t* g) noexcept:
    """``(\\?|scaled)([A-Za-z]*)/([A-Za-z]+)(?:, ([^\\]]*))?\\]$`` at ``p``: groups into
    ``g[0..7]`` (value, numerator, denominator, postfix; postfix -1 when absent); 0 or -1."""
    cdef Py_ssize_t q
    if _tq_at(t, p) == 63:  # "?"
        q = p + 1
    else:
        q = _tq_scaled(t, p, True)
        if q < 0:
            return -1
    g[0], g[1] = p, q
    p = _tq_letters(t, q)
    g[2], g[3] = q, p
    if _tq_at(t, p) != 47:  # "/"
        return -1
    q = _tq_letters(t, p + 1)
    if q == p + 1:
        return -1
    g[4], g[5] = p + 1, q
    g[6] = g[7] = -1
    if _tq_at(t, q) == 44 and _tq_at(t, q + 1) == 32:  # ", " then up to the first "]"
        p = q + 2
        while p < t.n and _tq_at(t, p) != 93:
            p += 1
        g[6], g[7] = q + 2, p
        q = p
    return 0 if _tq_closes(t, q) else -1


cdef inline long long _tq_int(_TqText* t, Py_ssize_t p, Py_ssize_t q) noexcept:
    cdef long long v = 0
    while p < q:
        v = v * 10 + (<long long>_tq_at(t, p) - 48)
        p += 1
    return v


cdef long long _tq_seconds(_TqText* t, Py_ssize_t p, Py_ssize_t q) noexcept:
    """An interval's seconds (``pure_tqdm._seconds``), or -1 when a run is too long."""
    cdef Py_ssize_t e = _tq_digits(t, p)
    cdef long long days = 0, total
    if e - p > _TQ_RUN:
        return -1
    if _tq_at(t, e) == 100:  # "d, "
        days = _tq_int(t, p, e)
        p = e + 3
        e = _tq_digits(t, p)
        if e - p > _TQ_RUN:
            return -1
    total = _tq_int(t, p, e)
    while e < q:  # ":dd"
        total = total * 60 + _tq_int(t, e + 1, e + 3)
        e += 3
    return total + days * 86_400


cdef object _tq_number(_TqText* t, Py_ssize_t p, Py_ssize_t q):
    """``float(value)`` (times its scale letter's factor): ``pure_tqdm._number``; ``None``
    when the value is too long to copy here."""
    cdef char buf[64]
    cdef Py_ssize_t i
    cdef double scale = 1.0
    if _tq_scale(_tq_at(t, q - 1)):
        scale = _tq_scale_of(_tq_at(t, q - 1))
        q -= 1
    if q - p >= 64:
        return None
    for i in range(p, q):
        buf[i - p] = <char>_tq_at(t, i)
    buf[q - p] = 0
    return PyFloat_FromDouble(PyOS_string_to_double(buf, NULL, NULL) * scale)


cdef object _tq_count(_TqText* t, str text, Py_ssize_t p, Py_ssize_t q):
    """``pure_tqdm``'s count: an int, digits longer than 18 as they are, else a float."""
    if _tq_digits(t, p) == q:
        return _tq_int(t, p, q) if q - p <= 18 else text[p:q]
    return _tq_number(t, p, q)


cdef inline bint _tq_is(_TqText* t, Py_ssize_t p, Py_ssize_t q, Py_UCS4 a,
                        Py_UCS4 b) noexcept:
    """``text[p:q]`` is the one or two characters ``a`` (``b``: 0 for one)."""
    if b == 0:
        return q == p + 1 and _tq_at(t, p) == a
    return q == p + 2 and _tq_at(t, p) == a and _tq_at(t, p + 1) == b


cdef object _tq_unit(_TqText* t, str text, Py_ssize_t p, Py_ssize_t q):
    return "it" if _tq_is(t, p, q, 105, 116) else text[p:q]


cdef int _tq_rate(_TqText* t, str text, dict fields, Py_ssize_t* g, Py_ssize_t up,
                  Py_ssize_t uq) except -1:
    """``rate`` and ``unit`` (``pure_tqdm``'s ``_rate`` and its inlined common case), the
    unit ``text[up:uq]`` (``up == -1``: ``it``); 0, or 1 when a value is too long here."""
    cdef double m
    cdef object v
    unit = "it" if up < 0 else _tq_unit(t, text, up, uq)
    if _tq_is(t, g[0], g[1], 63, 0):  # "?"
        fields["unit"] = unit
        return 0
    v = _tq_number(t, g[0], g[1])
    if v is None:
        return 1
    if up >= 0 and _tq_is(t, up, uq, 115, 0):  # "s": seconds per unit
        m = <double>v
        if 1e-9 > m:
            m = 1e-9
        fields["rate"] = _tq_round(PyFloat_FromDouble(1 / m), 6)
        fields["unit"] = _tq_unit(t, text, g[4], g[5])
        return 0
    fields["rate"] = v
    fields["unit"] = unit
    return 0


cdef object _tq_postfix(_TqText* t, str text, Py_ssize_t p, Py_ssize_t q):
    """``pure_tqdm.postfix_pairs(text[p:q])``."""
    cdef dict pairs = {}
    cdef Py_ssize_t start = p, end, eq
    while True:
        end = start
        while end < q and not (_tq_at(t, end) == 44 and _tq_at(t, end + 1) == 32
                               and end + 1 < q):
            end += 1
        eq = start
        while eq < end and _tq_at(t, eq) != 61:  # "="
            eq += 1
        if eq == end or eq == start:
            return text[p:q]
        pairs[text[start:eq]] = text[eq + 1:end]
        if end >= q:
            return pairs
        start = end + 2


cdef tuple _tq_record(str text, dict fields, _TqText* t, Py_ssize_t dp, Py_ssize_t dq,
                      Py_ssize_t* g):
    if dq > dp:
        fields["desc"] = text[dp:dq]
    if g[7] > g[6]:
        fields["postfix"] = _tq_postfix(t, text, g[6], g[7])
    return "tqdm", {"timestamp": None, "level": "info", "message": text,
                    "attributes": {"progress": fields}}


cdef object _tq_with_total(str text, _TqText* t, Py_ssize_t cut):
    """``pure_tqdm._with_total``; ``False`` for the twin to take the line."""
    cdef Py_ssize_t start = cut - 3 if cut > 3 else 0, p, q, d, e
    cdef Py_ssize_t g[8]
    cdef Py_ssize_t n0, n1, t0, t1, e0, e1, r0, r1, pct
    cdef long long elapsed, remaining = 0
    p = start
    if _tq_at(t, p) == 32:
        p += 1
        if _tq_at(t, p) == 32:
            p += 1
    d = p
    while p - d < 3 and _tq_digit(_tq_at(t, p)):
        p += 1
    pct = p
    if p == d or _tq_at(t, p) != 37 or _tq_at(t, p + 1) != 124:  # "%|"
        return None
    p += 2
    while p < t.n and _tq_at(t, p) != 124:  # the bar, up to its closing "|"
        p += 1
    if _tq_at(t, p) != 124 or _tq_at(t, p + 1) != 32:
        return None
    n0 = p + 2
    n1 = _tq_scaled(t, n0, True)
    if n1 < 0 or _tq_at(t, n1) != 47:  # "/"
        return None
    t0 = n1 + 1
    t1 = t0 + 1 if _tq_at(t, t0) == 63 else _tq_scaled(t, t0, True)
    if t1 < 0 or _tq_at(t, t1) != 32 or _tq_at(t, t1 + 1) != 91:  # " ["
        return None
    e0 = t1 + 2
    e1 = _tq_interval(t, e0)
    if e1 < 0 or _tq_at(t, e1) != 60:  # "<"
        return None
    r0 = e1 + 1
    r1 = r0 + 1 if _tq_at(t, r0) == 63 else _tq_interval(t, r0)
    if r1 < 0 or _tq_at(t, r1) != 44 or _tq_at(t, r1 + 1) != 32:  # ", +"
        return None
    p = r1 + 1
    while _tq_at(t, p) == 32:
        p += 1
    if _tq_rate_tail(t, p, g) < 0:
        return None
    e = start  # the desc: what is before the match, blanks stripped, ends with ":"
    while e > 0 and _tq_at(t, e - 1) == 32:
        e -= 1
    if e > 0 and _tq_at(t, e - 1) != 58:
        return None
    elapsed = _tq_seconds(t, e0, e1)
    if not _tq_is(t, r0, r1, 63, 0):
        remaining = _tq_seconds(t, r0, r1)
    if elapsed < 0 or remaining < 0:
        return False
    fields = {"percent": _tq_int(t, d, pct),
              "n": _tq_count(t, text, n0, n1), "elapsed": elapsed}
    if fields["n"] is None:
        return False
    if not _tq_is(t, t0, t1, 63, 0):
        fields["total"] = _tq_count(t, text, t0, t1)
        if fields["total"] is None:
            return False
    if not _tq_is(t, r0, r1, 63, 0):
        fields["remaining"] = remaining
    if _tq_rate(t, text, fields, g, g[2] if g[3] > g[2] else -1, g[3]):
        return False
    return _tq_record(text, fields, t, 0, e - 1 if e > 0 else 0, g)


cdef Py_ssize_t _tq_rest(_TqText* t, Py_ssize_t p, Py_ssize_t* g) noexcept:
    """``_TQDM_NO_TOTAL`` after its desc, at ``p`` (ASCII text): groups into ``g`` (count
    0-1, unit 2-3 (-1 when none), elapsed 4-5, then the rate tail's 6-13); 0, else -1."""
    cdef Py_ssize_t q0 = _tq_scaled(t, p, False), r
    cdef Py_UCS4 c
    if q0 < 0:
        return -1
    g[0], g[1], g[2], g[3] = p, q0, -1, -1
    if _tq_scale(_tq_at(t, q0)):  # the count's scale letter, unless a digit or "_"
        c = _tq_at(t, q0 + 1)  # follows it: then it opens the unit (sre backtracks so)
        if c == 32 or _tq_letter(c):
            q0 += 1
            g[1] = q0
        elif not (_tq_digit(c) or c == 95):
            return -1
    c = _tq_at(t, q0)
    if c != 32:  # ``([A-Za-z]\w*)``
        if not _tq_letter(c):
            return -1
        r = q0 + 1
        c = _tq_at(t, r)
        while _tq_letter(c) or _tq_digit(c) or c == 95:
            r += 1
            c = _tq_at(t, r)
        g[2], g[3] = q0, r
        q0 = r
    if _tq_at(t, q0) != 32 or _tq_at(t, q0 + 1) != 91:  # " ["
        return -1
    g[4] = q0 + 2
    g[5] = _tq_interval(t, g[4])
    if g[5] < 0 or _tq_at(t, g[5]) != 44 or _tq_at(t, g[5] + 1) != 32:  # ", +"
        return -1
    p = g[5] + 1
    while _tq_at(t, p) == 32:
        p += 1
    return _tq_rate_tail(t, p, g + 6)


cdef object _tq_no_total(str text, _TqText* t):
    """``pure_tqdm``'s path without a total on ASCII text; ``False`` for the twin."""
    cdef Py_ssize_t g[14]
    cdef Py_ssize_t i, dq = 0, top = t.n - 2
    cdef long long elapsed
    if top > 200:
        top = 200
    i = 1
    while i <= top:  # the lazy desc: the first ": " after which the rest matches
        if _tq_at(t, i) == 10 or _tq_at(t, i - 1) == 10:
            break
        if _tq_at(t, i) == 58 and _tq_at(t, i + 1) == 32 and _tq_rest(t, i + 2, g) == 0:
            dq = i
            break
        i += 1
    if dq == 0 and _tq_rest(t, 0, g) < 0:
        return None
    elapsed = _tq_seconds(t, g[4], g[5])
    if elapsed < 0:
        return False
    fields = {"n": _tq_count(t, text, g[0], g[1]), "elapsed": elapsed}
    if fields["n"] is None:
        return False
    if g[9] > g[8]:  # the rate's numerator
        i = _tq_rate(t, text, fields, g + 6, g[8], g[9])
    else:
        i = _tq_rate(t, text, fields, g + 6, g[2], g[3])
    if i:
        return False
    return _tq_record(text, fields, t, 0, dq, g + 6)


def tqdm_progress(str text):
    cdef _TqText t
    cdef Py_ssize_t cut
    cdef Py_UCS4 last
    t.kind = PyUnicode_KIND(text)
    t.data = PyUnicode_DATA(text)
    t.n = len(text)
    cut = text.find("%|")
    if cut > 0:
        got = _tq_with_total(text, &t, cut)
    else:
        last = _tq_at(&t, t.n - 1)
        if last == 10:
            last = _tq_at(&t, t.n - 2)
        if last != 93:  # "]": ``\]$`` cannot match
            return None
        if not PyUnicode_IS_ASCII(text):
            return _tqdm_reference(text)
        got = _tq_no_total(text, &t)
    if got is False:
        return _tqdm_reference(text)
    return got
