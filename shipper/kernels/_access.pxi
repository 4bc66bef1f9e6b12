# === pre-scan hits -> texts (helper `scan`, issue 14): the text owning each offset =========
def text_indices(bytes data, list offsets):
    cdef const char* buf = PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data), counted = 0, offset, text = 0
    cdef const char* p
    cdef const char* stop
    cdef list out = []
    for item in offsets:
        offset = item
        if offset < 0 or offset >= size or offset + 1 < counted:
            raise ValueError("text_indices: need ascending offsets in 0 <= offset < len(data)")
        p = buf + counted
        stop = buf + offset + 1
        while p < stop:
            p = <const char*>memchr(p, 0, <size_t>(stop - p))
            if p == NULL:
                break
            text += 1
            p += 1
        counted = offset + 1
        out.append(text)
    return out


# === combined/common access lines (helper `access`, issue 14, KERNEL_API 33) ===============
# Twin and reference: ``pure_access.combined_fields`` (read its docstring): ``_COMBINED``'s
# match read left to right. The client, ident, user and method end at their first blank,
# the time at its first "]" (no backtracking can move them); the lazy path ends at the
# first quote (or its blank, with `` HTTP/[\d.]+``) after which `` ddd `` and a size
# follow; the size is its longest digit run (the quoted pair is optional) or "-". Lines
# that are not ASCII go to the twin (``\S``, ``\d`` are Unicode classes there).
from shipper.kernels.pure_access import combined_fields as _combined_reference


cdef inline bint _ws(unsigned char c) noexcept:
    return c == 32 or (9 <= c <= 13) or (28 <= c <= 31)


cdef inline bint _dig1(unsigned char c) noexcept:
    return 48 <= c <= 57


cdef inline Py_ssize_t _token_end(const unsigned char* d, Py_ssize_t p,
                                  Py_ssize_t n) noexcept:
    while p < n and not _ws(d[p]):
        p += 1
    return p


cdef inline Py_ssize_t _quoted_end(const unsigned char* d, Py_ssize_t p,
                                   Py_ssize_t n) noexcept:
    """``p`` at an opening quote: the index of its closing quote, else -1."""
    if p >= n or d[p] != 34:
        return -1
    p += 1
    while p < n:
        if d[p] == 34:
            return p
        if d[p] == 92:
            if p + 1 >= n or d[p + 1] == 10:  # "." takes any character but "\n"
                return -1
            p += 2
        else:
            p += 1
    return -1


cdef inline Py_ssize_t _status_size(const unsigned char* d, Py_ssize_t q,
                                    Py_ssize_t n) noexcept:
    """``q`` at the request's closing quote: ``" ddd <size>``'s end, else -1."""
    cdef Py_ssize_t s = q + 6
    if s >= n or d[q] != 34 or d[q + 1] != 32 or not (_dig1(d[q + 2]) and _dig1(d[q + 3])
                                                       and _dig1(d[q + 4])) or d[q + 5] != 32:
        return -1
    if d[s] == 45:
        return s + 1
    if not _dig1(d[s]):
        return -1
    while s < n and _dig1(d[s]):
        s += 1
    return s


cdef inline Py_ssize_t _blank_token(const unsigned char* d, Py_ssize_t p,
                                    Py_ssize_t n) noexcept:
    """``(\\S+) ``: the blank's index, else -1."""
    cdef Py_ssize_t e = _token_end(d, p, n)
    return e if e > p and e < n and d[e] == 32 else -1


def combined_fields(str text):
    if not PyUnicode_IS_ASCII(text):
        return _combined_reference(text)
    cdef Py_ssize_t n = len(text), a, b, c, rb, me, ps, e, v, q = -1, pe, ss, se
    cdef Py_ssize_t re_ = -1, ae = -1, proto = -1
    cdef const unsigned char* d = PyUnicode_1BYTE_DATA(text)
    cdef const unsigned char* at
    a = _blank_token(d, 0, n)
    b = _blank_token(d, a + 1, n) if a >= 0 else -1
    c = _blank_token(d, b + 1, n) if b >= 0 else -1
    if c < 0 or c + 2 >= n or d[c + 1] != 91:
        return None
    at = <const unsigned char*>memchr(d + c + 2, 93, <size_t>(n - c - 2))  # "]"
    if at == NULL or at == d + c + 2:
        return None
    rb = at - d
    if rb + 2 >= n or d[rb + 1] != 32 or d[rb + 2] != 34:
        return None
    me = _blank_token(d, rb + 3, n)
    if me < 0:
        return None
    ps = e = me + 1
    while True:  # the lazy path: [ps, e)
        if e >= n or _ws(d[e]):
            return None
        e += 1
        if e >= n:
            return None
        if d[e] == 34:
            se = _status_size(d, e, n)
            if se >= 0:
                q = e
                break
        elif d[e] == 32:
            if e + 6 > n or memcmp(d + e + 1, b"HTTP/", 5) != 0:
                return None
            v = e + 6
            while v < n and (_dig1(d[v]) or d[v] == 46):
                v += 1
            se = _status_size(d, v, n) if v > e + 6 else -1
            if se < 0:
                return None
            q, proto = v, e + 1
            break
    pe = e
    ss = q + 6
    if se + 1 < n and d[se] == 32 and d[se + 1] == 34:
        re_ = _quoted_end(d, se + 1, n)
        if re_ >= 0 and re_ + 2 < n and d[re_ + 1] == 32 and d[re_ + 2] == 34:
            ae = _quoted_end(d, re_ + 2, n)
    return _combined_record(text, d, a, b, c, rb, me, pe, proto, q, ss, se,
                            re_ if ae >= 0 else -1, ae)


cdef object _combined_record(str text, const unsigned char* d, Py_ssize_t a, Py_ssize_t b,
                             Py_ssize_t c, Py_ssize_t rb, Py_ssize_t me, Py_ssize_t pe,
                             Py_ssize_t proto, Py_ssize_t q, Py_ssize_t ss, Py_ssize_t se,
                             Py_ssize_t re_, Py_ssize_t ae):
    cdef int code = (d[q + 2] - 48) * 100 + (d[q + 3] - 48) * 10 + (d[q + 4] - 48)
    cdef long long size = 0
    cdef Py_ssize_t i
    cdef dict attributes = {"method": text[rb + 3:me], "path": text[me + 1:pe],
                            "status": code, "client": text[:a]}
    if proto >= 0:
        attributes["protocol"] = text[proto:q]
    if d[ss] != 45:
        if se - ss <= 18:
            for i in range(ss, se):
                size = size * 10 + (d[i] - 48)
            attributes["bytes"] = size
        else:
            attributes["bytes"] = text[ss:se]
    if not (c - b == 2 and d[b + 1] == 45):
        attributes["user"] = text[b + 1:c]
    if re_ >= 0:
        if re_ - (se + 2) > 0 and not (re_ - (se + 2) == 1 and d[se + 2] == 45):
            attributes["referer"] = text[se + 2:re_]
        if ae - (re_ + 3) > 0 and not (ae - (re_ + 3) == 1 and d[re_ + 3] == 45):
            attributes["user_agent"] = text[re_ + 3:ae]
    level = "error" if code >= 500 else "warning" if code >= 400 else "info"
    return {"timestamp": None, "level": level, "message": text,
            "attributes": attributes}, text[c + 2:rb]
