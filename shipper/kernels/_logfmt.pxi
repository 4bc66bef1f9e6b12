# === logfmt lines (helper `families`, issue 14): a whole logfmt line's pairs ===============
# Twin and reference: ``pure_logfmt.py`` (the regexes ``parse.logfmt.parse_logfmt`` ran).
# ASCII text only (the caller checks ``str.isascii``, O(1)): ``\w`` and ``\s`` are ASCII.

cdef inline bint _lf_head(Py_UCS4 c):
    """``[A-Za-z_@]``"""
    return (65 <= c <= 90) or (97 <= c <= 122) or c == 95 or c == 64


cdef inline bint _lf_key(Py_UCS4 c):
    r"""``[\w.\-/@]`` within ASCII"""
    return _lf_head(c) or (48 <= c <= 57) or c == 46 or c == 45 or c == 47


cdef inline bint _lf_space(Py_UCS4 c):
    r"""``\s`` within ASCII (``str.isspace``: also \x1c-\x1f)"""
    return c == 32 or (9 <= c <= 13) or (28 <= c <= 31)


def logfmt_pairs(str text):
    """All pairs of an ASCII line made only of ``key=value`` pairs (separated by spaces or
    tabs), else ``None`` (always for text that is not ASCII: the regexes' ``\\w``/``\\s``
    take Unicode, this scan does not): ``key=`` then a quoted value (``\\`` takes any
    character but a newline) or a bare one (no white space, no quote), then spaces/tabs or
    the end."""
    cdef Py_ssize_t n = len(text), pos = 0, start, j
    cdef Py_UCS4 c
    cdef dict pairs = {}
    if n == 0 or not text.isascii():
        return None
    while pos < n:
        start = pos
        if not _lf_head(PyUnicode_READ_CHAR(text, pos)):
            return None
        pos += 1
        while pos < n and _lf_key(PyUnicode_READ_CHAR(text, pos)):
            pos += 1
        if pos >= n or PyUnicode_READ_CHAR(text, pos) != 61:  # "="
            return None
        key = text[start:pos]
        pos += 1
        if pos < n and PyUnicode_READ_CHAR(text, pos) == 34:  # a quoted value
            j = pos + 1
            while j < n:
                c = PyUnicode_READ_CHAR(text, j)
                if c == 34:
                    break
                if c == 92:  # a backslash takes the next character, never a newline
                    if j + 1 >= n or PyUnicode_READ_CHAR(text, j + 1) == 10:
                        return None
                    j += 2
                else:
                    j += 1
            if j >= n:
                return None
            value = text[pos + 1:j]
            if "\\" in value:
                value = value.replace('\\"', '"').replace("\\\\", "\\")
            pos = j + 1
        else:
            start = pos
            while pos < n:
                c = PyUnicode_READ_CHAR(text, pos)
                if c == 34 or _lf_space(c):
                    break
                pos += 1
            value = text[start:pos]
        if pos < n:
            c = PyUnicode_READ_CHAR(text, pos)
            if c != 32 and c != 9:
                return None
            pos += 1
            while pos < n and (PyUnicode_READ_CHAR(text, pos) == 32
                               or PyUnicode_READ_CHAR(text, pos) == 9):
                pos += 1
        pairs[key] = value
    return pairs
