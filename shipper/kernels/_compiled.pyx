# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=True
"""Typed loops for the hot kernels; ``pure.py`` is the twin with the same API and results
(read its docstrings: each function here does exactly what its twin does)."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport Py_UNICODE_ISALNUM, Py_UNICODE_ISSPACE, PyUnicode_DecodeASCII
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.string cimport memchr, memcmp, memcpy, memset, strlen

KERNEL_API = 118


# The kernels, one file each (textually included: one module, one namespace, so a
# kernel may use another's cdef helpers declared in an earlier file).
include "_lines.pxi"
include "_loki.pxi"
include "_datadog.pxi"
include "_json.pxi"
include "_logfmt.pxi"
include "_text.pxi"
include "_stamped.pxi"
include "_tracker.pxi"
include "_enrich.pxi"
include "_encode.pxi"
include "_access.pxi"
include "_noise.pxi"
include "_tqdm.pxi"
include "_loki_rows.pxi"
include "_groups.pxi"
include "_fates.pxi"
include "_release.pxi"
include "_loki_order.pxi"
include "_snappy.pxi"
