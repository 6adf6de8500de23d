/* Native fast path of the SurrealDB CBOR codec (surreal_proto._codec).
 *
 * encode(value) -> bytes and decode(data, *, max_depth=256) -> value implement the same
 * mapping as the cbor2-based reference implementation in _codec.py (protocol.md §5.1-§5.3),
 * by walking the Python objects and the CBOR bytes directly. They handle the common shapes
 * themselves and hand everything else to the reference implementation, so that both always
 * give the same bytes, values and errors:
 *
 *   - encode: a value of a type not handled here (subclasses, sets, timedelta, composite
 *     geometries, Tagged...) is encoded by the reference encode() and its bytes copied in;
 *     on any error (an int outside i64, a non-text map key, a naive datetime, nesting too
 *     deep...) the whole value is encoded again by the reference, which raises its error.
 *   - decode: on anything unusual (malformed or truncated bytes, indefinite lengths, a tag
 *     payload of the wrong shape, a tag that cbor2 decodes itself, a non-text map key,
 *     nesting deeper than max_depth...) the whole message is decoded by the reference, which
 *     returns its value or raises RemoteProtocolError.
 *
 * setup(config) is called once by _codec.py with the value classes and the reference
 * functions. The module holds no other state.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

/* Values nested deeper than this are left to the reference implementation: when encoding,
 * it refuses anything deeper than its own limit (cbor2's recursion limit, which depends on
 * the caller's stack depth; about 1,000 levels); when decoding, max_depth above it always
 * goes to the reference. Both keep the C stack small. */
#define ENCODE_DEPTH 500
#define DECODE_DEPTH 1000

/* ------------------------------------------------------------------ configuration */

static int ready = 0;
static PyObject *py_encode, *py_decode;                   /* the reference functions */
static PyObject *NULL_obj;                                /* surreal_proto.NULL */
static PyTypeObject *NullType_t, *RecordID_t, *StringRecordID_t, *Table_t, *Datetime_t,
    *Duration_t, *UUID_t, *Decimal_t, *Point_t, *Set_t, *Range_t, *Included_t, *Excluded_t,
    *File_t, *Future_t, *Tagged_t;
static PyTypeObject *Composite_t[7];                      /* tags 88..94: [1..6] used */
static PyTypeObject *CompositePart_t[7];                  /* their part type, or NULL */
static PyObject *UTC_obj, *uuid_unknown, *duration_parse;
/* The tags cbor2 decodes itself (_codec._SEMANTIC): below 64 as bits, the others listed. */
static uint64_t semantic_small;
static uint64_t semantic_big[64];
static int semantic_big_count;
static long long min_secs, max_secs;
/* Slot offsets (from the classes' member descriptors). */
static Py_ssize_t off_rid_table, off_rid_id, off_srid_text, off_table_name, off_dt_ns, off_dur_ns,
    off_uuid_int, off_uuid_safe, off_point_lon, off_point_lat, off_set_items, off_range_begin,
    off_range_end, off_bound_value, off_file_bucket, off_file_key, off_tagged_tag,
    off_tagged_value, off_parts;

#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

static int
slot_offset(PyTypeObject *type, const char *name, Py_ssize_t *out)
{
    PyObject *descr = PyDict_GetItemString(type->tp_dict, name);  /* borrowed */
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", type->tp_name, name);
        return -1;
    }
    PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
    if (m->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot", type->tp_name, name);
        return -1;
    }
    *out = m->offset;
    return 0;
}

static PyObject *
config_item(PyObject *config, const char *name)
{
    PyObject *v = PyDict_GetItemString(config, name);  /* borrowed */
    if (v == NULL)
        PyErr_Format(PyExc_KeyError, "setup() needs %s", name);
    else
        Py_INCREF(v);  /* kept for the life of the process */
    return v;
}

static PyTypeObject *
config_type(PyObject *config, const char *name)
{
    PyObject *v = config_item(config, name);
    if (v != NULL && !PyType_Check(v)) {
        PyErr_Format(PyExc_TypeError, "setup(): %s is not a class", name);
        return NULL;
    }
    return (PyTypeObject *)v;
}

static PyObject *
setup(PyObject *module, PyObject *config)
{
    static const char *composites[7] = {NULL, "GeometryLine", "GeometryPolygon",
        "GeometryMultiPoint", "GeometryMultiLine", "GeometryMultiPolygon",
        "GeometryCollection"};
    if (!PyDict_Check(config)) {
        PyErr_SetString(PyExc_TypeError, "setup() needs a dict");
        return NULL;
    }
    if (ready) {
        PyErr_SetString(PyExc_RuntimeError, "setup() was called already");
        return NULL;
    }
#define TYPE(var, name) if ((var = config_type(config, name)) == NULL) return NULL
#define ITEM(var, name) if ((var = config_item(config, name)) == NULL) return NULL
#define OFFSET(type, name, var) if (slot_offset(type, name, &var) < 0) return NULL
    ITEM(py_encode, "encode");
    ITEM(py_decode, "decode");
    ITEM(NULL_obj, "NULL");
    TYPE(NullType_t, "NullType");
    TYPE(RecordID_t, "RecordID");
    TYPE(StringRecordID_t, "StringRecordID");
    TYPE(Table_t, "Table");
    TYPE(Datetime_t, "Datetime");
    TYPE(Duration_t, "Duration");
    TYPE(UUID_t, "UUID");
    TYPE(Decimal_t, "Decimal");
    TYPE(Point_t, "GeometryPoint");
    TYPE(Set_t, "SurrealSet");
    TYPE(Range_t, "Range");
    TYPE(Included_t, "BoundIncluded");
    TYPE(Excluded_t, "BoundExcluded");
    TYPE(File_t, "File");
    TYPE(Future_t, "Future");
    TYPE(Tagged_t, "Tagged");
    for (int i = 1; i <= 6; i++)
        TYPE(Composite_t[i], composites[i]);
    CompositePart_t[1] = Point_t;           /* 89 line: points */
    CompositePart_t[2] = Composite_t[1];    /* 90 polygon: lines */
    CompositePart_t[3] = Point_t;           /* 91 multipoint: points */
    CompositePart_t[4] = Composite_t[1];    /* 92 multiline: lines */
    CompositePart_t[5] = Composite_t[2];    /* 93 multipolygon: polygons */
    CompositePart_t[6] = NULL;              /* 94 collection: any geometry */
    ITEM(UTC_obj, "UTC");
    ITEM(uuid_unknown, "SafeUUID.unknown");
    ITEM(duration_parse, "Duration.parse");
    PyObject *tags;
    ITEM(tags, "semantic_tags");
    if (!PyTuple_Check(tags)) {
        PyErr_SetString(PyExc_TypeError, "setup(): semantic_tags is not a tuple");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tags); i++) {
        unsigned long long tag = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(tags, i));
        if (PyErr_Occurred())
            return NULL;
        if (tag < 64)
            semantic_small |= 1ULL << tag;
        else if (semantic_big_count < 64)
            semantic_big[semantic_big_count++] = tag;
        else {
            PyErr_SetString(PyExc_ValueError, "setup(): too many semantic_tags");
            return NULL;
        }
    }
    PyObject *v;
    ITEM(v, "min_secs");
    min_secs = PyLong_AsLongLong(v);
    ITEM(v, "max_secs");
    max_secs = PyLong_AsLongLong(v);
    if (PyErr_Occurred())
        return NULL;
    OFFSET(RecordID_t, "table", off_rid_table);
    OFFSET(RecordID_t, "id", off_rid_id);
    OFFSET(StringRecordID_t, "text", off_srid_text);
    OFFSET(Table_t, "name", off_table_name);
    OFFSET(Datetime_t, "_ns", off_dt_ns);
    OFFSET(Duration_t, "_ns", off_dur_ns);
    OFFSET(UUID_t, "int", off_uuid_int);
    OFFSET(UUID_t, "is_safe", off_uuid_safe);
    OFFSET(Point_t, "longitude", off_point_lon);
    OFFSET(Point_t, "latitude", off_point_lat);
    OFFSET(Set_t, "items", off_set_items);
    OFFSET(Range_t, "begin", off_range_begin);
    OFFSET(Range_t, "end", off_range_end);
    OFFSET(Included_t->tp_base, "value", off_bound_value);
    OFFSET(File_t, "bucket", off_file_bucket);
    OFFSET(File_t, "key", off_file_key);
    OFFSET(Tagged_t, "tag", off_tagged_tag);
    OFFSET(Tagged_t, "value", off_tagged_value);
    OFFSET(Composite_t[1]->tp_base, "_parts", off_parts);
#undef TYPE
#undef ITEM
#undef OFFSET
    ready = 1;
    Py_RETURN_NONE;
}

/* A new instance of a slotted class without running __new__/__init__ (what the reference
 * does with object.__new__ and the slot descriptors). The slots start empty. */
static inline PyObject *
new_instance(PyTypeObject *type)
{
    return type->tp_alloc(type, 0);
}

/* ====================================================================== encoding */

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
    int depth;
    char stack[1024];
} Enc;

static int
enc_grow(Enc *e, Py_ssize_t need)
{
    Py_ssize_t cap = e->cap * 2;
    while (cap < e->len + need)
        cap *= 2;
    char *buf;
    if (e->buf == e->stack) {
        buf = PyMem_Malloc(cap);
        if (buf != NULL)
            memcpy(buf, e->buf, e->len);
    } else {
        buf = PyMem_Realloc(e->buf, cap);
    }
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    e->buf = buf;
    e->cap = cap;
    return 0;
}

#define ENSURE(e, n) \
    if ((e)->len + (Py_ssize_t)(n) > (e)->cap && enc_grow((e), (n)) < 0) return -1

static inline int
w_bytes(Enc *e, const void *data, Py_ssize_t n)
{
    ENSURE(e, n);
    memcpy(e->buf + e->len, data, n);
    e->len += n;
    return 0;
}

/* The head of a data item: major type and argument, in the shortest form. */
static inline int
w_head(Enc *e, unsigned major, uint64_t n)
{
    ENSURE(e, 9);
    unsigned char *p = (unsigned char *)e->buf + e->len;
    major <<= 5;
    if (n < 24) {
        p[0] = (unsigned char)(major | n);
        e->len += 1;
    } else if (n < 0x100) {
        p[0] = (unsigned char)(major | 24);
        p[1] = (unsigned char)n;
        e->len += 2;
    } else if (n < 0x10000) {
        p[0] = (unsigned char)(major | 25);
        p[1] = (unsigned char)(n >> 8);
        p[2] = (unsigned char)n;
        e->len += 3;
    } else if (n < 0x100000000ULL) {
        p[0] = (unsigned char)(major | 26);
        for (int i = 0; i < 4; i++)
            p[1 + i] = (unsigned char)(n >> (24 - 8 * i));
        e->len += 5;
    } else {
        p[0] = (unsigned char)(major | 27);
        for (int i = 0; i < 8; i++)
            p[1 + i] = (unsigned char)(n >> (56 - 8 * i));
        e->len += 9;
    }
    return 0;
}

static inline int
w_int(Enc *e, long long v)
{
    return v >= 0 ? w_head(e, 0, (uint64_t)v) : w_head(e, 1, (uint64_t)(-1 - v));
}

static inline int
w_text(Enc *e, PyObject *s)
{
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (u == NULL || w_head(e, 3, (uint64_t)n) < 0)
        return -1;
    return w_bytes(e, u, n);
}

static int
w_float64(Enc *e, double v)
{
    /* cbor2's encode_float: NaN and the infinities as half floats, the rest as doubles. */
    if (Py_IS_NAN(v))
        return w_bytes(e, "\xf9\x7e\x00", 3);
    if (Py_IS_INFINITY(v))
        return w_bytes(e, v > 0 ? "\xf9\x7c\x00" : "\xf9\xfc\x00", 3);
    unsigned char p[9];
    p[0] = 0xfb;
    if (PyFloat_Pack8(v, (char *)p + 1, 0) < 0)
        return -1;
    return w_bytes(e, p, 9);
}

/* _codec._short_float: the shortest lossless width (geometry coordinates). */
static int
w_short_float(Enc *e, double v)
{
    unsigned char p[9];
    if (PyFloat_Pack4(v, (char *)p + 1, 0) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
        goto double_;
    }
    if (PyFloat_Unpack4((char *)p + 1, 0) != v) {
        if (Py_IS_NAN(v))
            return w_bytes(e, "\xf9\x7e\x00", 3);
        goto double_;
    }
    unsigned char h[3];
    if (PyFloat_Pack2(v, (char *)h + 1, 0) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
    } else if (PyFloat_Unpack2((char *)h + 1, 0) == v) {
        h[0] = 0xf9;
        return w_bytes(e, h, 3);
    }
    p[0] = 0xfa;
    return w_bytes(e, p, 5);
double_:
    p[0] = 0xfb;
    if (PyFloat_Pack8(v, (char *)p + 1, 0) < 0)
        return -1;
    return w_bytes(e, p, 9);
}

/* The reference encoding of one value, copied in. */
static int
enc_reference(Enc *e, PyObject *o)
{
    PyObject *b = PyObject_CallOneArg(py_encode, o);
    if (b == NULL)
        return -1;
    int r = -1;
    if (PyBytes_Check(b))
        r = w_bytes(e, PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b));
    else
        PyErr_SetString(PyExc_TypeError, "encode() did not return bytes");
    Py_DECREF(b);
    return r;
}

static int enc_obj(Enc *e, PyObject *o);

static inline int
enter(Enc *e)
{
    if (++e->depth > ENCODE_DEPTH) {
        PyErr_SetString(PyExc_RecursionError, "nested too deeply");
        return -1;
    }
    return Py_EnterRecursiveCall(" while encoding a value for SurrealDB");
}

static inline void
leave(Enc *e)
{
    e->depth--;
    Py_LeaveRecursiveCall();
}

/* Items of a list or tuple (re-read on each step: nothing here runs Python code that could
 * change them, but a reference fallback could in principle). */
static int
enc_items(Enc *e, PyObject *seq, int is_list)
{
    Py_ssize_t n = is_list ? PyList_GET_SIZE(seq) : PyTuple_GET_SIZE(seq);
    if (w_head(e, 4, (uint64_t)n) < 0 || enter(e) < 0)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item;
        if (is_list) {
            if (i >= PyList_GET_SIZE(seq)) {
                PyErr_SetString(PyExc_RuntimeError, "list changed size during encoding");
                leave(e);
                return -1;
            }
            item = PyList_GET_ITEM(seq, i);
        } else {
            item = PyTuple_GET_ITEM(seq, i);
        }
        Py_INCREF(item);
        int r = enc_obj(e, item);
        Py_DECREF(item);
        if (r < 0) {
            leave(e);
            return -1;
        }
    }
    leave(e);
    return 0;
}

static int
enc_dict(Enc *e, PyObject *d)
{
    Py_ssize_t pos = 0, n = PyDict_GET_SIZE(d);
    PyObject *key, *value;
    if (w_head(e, 5, (uint64_t)n) < 0 || enter(e) < 0)
        return -1;
    while (PyDict_Next(d, &pos, &key, &value)) {
        /* protocol.md §5.2: text keys only (the reference refuses others). */
        int r;
        Py_INCREF(key);
        Py_INCREF(value);
        if (PyUnicode_CheckExact(key))
            r = w_text(e, key);
        else if (PyUnicode_Check(key))
            r = enc_reference(e, key);
        else {
            PyErr_SetString(PyExc_TypeError, "map key");
            r = -1;
        }
        if (r == 0)
            r = enc_obj(e, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (r < 0) {
            leave(e);
            return -1;
        }
    }
    leave(e);
    if (PyDict_GET_SIZE(d) != n) {
        PyErr_SetString(PyExc_RuntimeError, "dict changed size during encoding");
        return -1;
    }
    return 0;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static inline long long
days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* tag 12 [secs, nanos] in UTC (protocol.md §5.3); other time zones go to the reference. */
static int
enc_datetime(Enc *e, PyObject *o, long ns)
{
    if (PyDateTime_DATE_GET_TZINFO(o) != UTC_obj)
        return enc_reference(e, o);
    long long days = days_from_civil(PyDateTime_GET_YEAR(o), PyDateTime_GET_MONTH(o),
                                     PyDateTime_GET_DAY(o));
    long long secs = days * 86400 + PyDateTime_DATE_GET_HOUR(o) * 3600
                     + PyDateTime_DATE_GET_MINUTE(o) * 60 + PyDateTime_DATE_GET_SECOND(o);
    if (w_bytes(e, "\xcc\x82", 2) < 0 || w_int(e, secs) < 0)
        return -1;
    return w_int(e, (long long)PyDateTime_DATE_GET_MICROSECOND(o) * 1000 + ns);
}

static int
enc_record_id(Enc *e, PyObject *o)
{
    PyObject *table = SLOT(o, off_rid_table), *key = SLOT(o, off_rid_id);
    if (table == NULL || key == NULL || !PyUnicode_CheckExact(table))
        return enc_reference(e, o);
    if (PyLong_CheckExact(key)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(key, &overflow);
        if (overflow)
            return enc_reference(e, o);
        return w_bytes(e, "\xc8\x82", 2) < 0 || w_text(e, table) < 0 ? -1 : w_int(e, v);
    }
    if (w_bytes(e, "\xc8\x82", 2) < 0 || w_text(e, table) < 0)
        return -1;
    if (PyUnicode_CheckExact(key))
        return w_text(e, key);
    if (enter(e) < 0)
        return -1;
    int r = enc_obj(e, key);
    leave(e);
    return r;
}

static int
enc_uuid(Enc *e, PyObject *o)
{
    PyObject *v = SLOT(o, off_uuid_int);
    if (v == NULL || !PyLong_CheckExact(v) || _PyLong_Sign(v) < 0 || _PyLong_NumBits(v) > 128)
        return enc_reference(e, o);
    unsigned char p[19] = {0xd8, 0x25, 0x50};
#if PY_VERSION_HEX >= 0x030D0000
    if (PyLong_AsNativeBytes(v, p + 3, 16, Py_ASNATIVEBYTES_BIG_ENDIAN
                             | Py_ASNATIVEBYTES_UNSIGNED_BUFFER) < 0)
        return -1;
#else
    if (_PyLong_AsByteArray((PyLongObject *)v, p + 3, 16, 0, 0) < 0)
        return -1;
#endif
    return w_bytes(e, p, 19);
}

static int
enc_decimal(Enc *e, PyObject *o)
{
    /* tag 10 with the number as text; exponents and non-finite values go to the reference
     * (which writes the former without an exponent and refuses the latter). */
    PyObject *s = PyObject_Str(o);
    if (s == NULL)
        return -1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    int ok = PyUnicode_IS_ASCII(s) && n > 0;
    if (ok) {
        const char *c = (const char *)PyUnicode_DATA(s);
        Py_ssize_t i = c[0] == '-';
        ok = i < n && c[i] >= '0' && c[i] <= '9' && memchr(c, 'E', n) == NULL;
    }
    int r = ok ? (w_bytes(e, "\xca", 1) < 0 ? -1 : w_text(e, s)) : enc_reference(e, o);
    Py_DECREF(s);
    return r;
}

static int
enc_duration(Enc *e, PyObject *o)
{
    PyObject *v = SLOT(o, off_dur_ns);
    int overflow;
    long long ns;
    if (v == NULL || !PyLong_CheckExact(v)
            || ((ns = PyLong_AsLongLongAndOverflow(v, &overflow)), overflow) || ns < 0) {
        return enc_reference(e, o);
    }
    long long secs = ns / 1000000000LL, nanos = ns % 1000000000LL;
    /* protocol.md §5.1 row 14: [] for zero, [secs] without nanoseconds, else both. */
    if (nanos) {
        return w_bytes(e, "\xce\x82", 2) < 0 || w_int(e, secs) < 0 ? -1 : w_int(e, nanos);
    }
    if (secs)
        return w_bytes(e, "\xce\x81", 2) < 0 ? -1 : w_int(e, secs);
    return w_bytes(e, "\xce\x80", 2);
}

static int
enc_point(Enc *e, PyObject *o)
{
    PyObject *x = SLOT(o, off_point_lon), *y = SLOT(o, off_point_lat);
    if (x == NULL || y == NULL || !PyFloat_CheckExact(x) || !PyFloat_CheckExact(y))
        return enc_reference(e, o);
    if (w_bytes(e, "\xd8\x58\x82", 3) < 0 || w_short_float(e, PyFloat_AS_DOUBLE(x)) < 0)
        return -1;
    return w_short_float(e, PyFloat_AS_DOUBLE(y));
}

static int
enc_bound(Enc *e, PyObject *b)
{
    if (b == Py_None)
        return w_bytes(e, "\xf6", 1);  /* an open side (protocol.md §5.1 row 49) */
    PyObject *v = SLOT(b, off_bound_value);
    if (v == NULL) {
        PyErr_SetString(PyExc_AttributeError, "value");
        return -1;
    }
    if (w_bytes(e, Py_IS_TYPE(b, Included_t) ? "\xd8\x32" : "\xd8\x33", 2) < 0)
        return -1;
    Py_INCREF(v);
    int r = enc_obj(e, v);
    Py_DECREF(v);
    return r;
}

static int
enc_range(Enc *e, PyObject *o)
{
    PyObject *b = SLOT(o, off_range_begin), *c = SLOT(o, off_range_end);
    if (b == NULL || c == NULL
            || !(b == Py_None || Py_IS_TYPE(b, Included_t) || Py_IS_TYPE(b, Excluded_t))
            || !(c == Py_None || Py_IS_TYPE(c, Included_t) || Py_IS_TYPE(c, Excluded_t)))
        return enc_reference(e, o);
    if (w_bytes(e, "\xd8\x31\x82", 3) < 0 || enter(e) < 0)
        return -1;
    int r = enc_bound(e, b) < 0 || enc_bound(e, c) < 0 ? -1 : 0;
    leave(e);
    return r;
}

static int
enc_set(Enc *e, PyObject *o)
{
    PyObject *items = SLOT(o, off_set_items);
    if (items == NULL || !(PyTuple_CheckExact(items) || PyList_CheckExact(items)))
        return enc_reference(e, o);
    if (w_bytes(e, "\xd8\x38", 2) < 0)
        return -1;
    Py_INCREF(items);
    int r = enc_items(e, items, PyList_CheckExact(items));
    Py_DECREF(items);
    return r;
}

static int
enc_obj(Enc *e, PyObject *o)
{
    PyTypeObject *t = Py_TYPE(o);
    if (t == &PyUnicode_Type)
        return w_text(e, o);
    if (t == &PyLong_Type) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow) {  /* protocol.md §5.2: outside i64; the reference raises */
            PyErr_SetString(PyExc_OverflowError, "int");
            return -1;
        }
        return w_int(e, v);
    }
    if (t == &PyDict_Type)
        return enc_dict(e, o);
    if (t == &PyList_Type)
        return enc_items(e, o, 1);
    if (t == &PyFloat_Type)
        return w_float64(e, PyFloat_AS_DOUBLE(o));
    if (t == &PyBool_Type)
        return w_bytes(e, o == Py_True ? "\xf5" : "\xf4", 1);
    if (o == Py_None)
        return w_bytes(e, "\xc6\xf6", 2);  /* NONE: 6(null) */
    if (t == NullType_t)
        return w_bytes(e, "\xf6", 1);
    if (t == Datetime_t) {
        PyObject *ns = SLOT(o, off_dt_ns);
        long v;
        if (ns == NULL || !PyLong_CheckExact(ns) || (v = PyLong_AsLong(ns)) < 0 || v > 999) {
            PyErr_Clear();
            return enc_reference(e, o);
        }
        return enc_datetime(e, o, v);
    }
    if (t == RecordID_t)
        return enc_record_id(e, o);
    if (t == UUID_t)
        return enc_uuid(e, o);
    if (t == &PyBytes_Type) {
        if (w_head(e, 2, (uint64_t)PyBytes_GET_SIZE(o)) < 0)
            return -1;
        return w_bytes(e, PyBytes_AS_STRING(o), PyBytes_GET_SIZE(o));
    }
    if (t == &PyTuple_Type)
        return enc_items(e, o, 0);
    if (t == Decimal_t)
        return enc_decimal(e, o);
    if (t == Duration_t)
        return enc_duration(e, o);
    if (t == Table_t) {
        PyObject *name = SLOT(o, off_table_name);
        if (name == NULL || !PyUnicode_CheckExact(name))
            return enc_reference(e, o);
        return w_bytes(e, "\xc7", 1) < 0 ? -1 : w_text(e, name);
    }
    if (t == Point_t)
        return enc_point(e, o);
    if (t == Range_t)
        return enc_range(e, o);
    if (t == Set_t)
        return enc_set(e, o);
    if (t == PyDateTimeAPI->DateTimeType)
        return enc_datetime(e, o, 0);
    /* Everything else (and every subclass) as the reference encodes it. */
    return enc_reference(e, o);
}

static PyObject *
encode(PyObject *module, PyObject *value)
{
    if (!ready) {
        PyErr_SetString(PyExc_RuntimeError, "setup() was not called");
        return NULL;
    }
    Enc e;
    e.buf = e.stack;
    e.len = 0;
    e.cap = sizeof(e.stack);
    e.depth = 0;
    PyObject *result = NULL;
    if (enc_obj(&e, value) == 0)
        result = PyBytes_FromStringAndSize(e.buf, e.len);
    if (e.buf != e.stack)
        PyMem_Free(e.buf);
    if (result == NULL) {
        /* The reference raises its own error for this value (or encodes it). */
        PyErr_Clear();
        result = PyObject_CallOneArg(py_encode, value);
    }
    return result;
}

/* ====================================================================== decoding */

typedef struct {
    const unsigned char *p, *end;
    int depth, max_depth;
} Dec;

/* The argument of a head whose first byte (already read) has additional info `ai`.
 * Returns -1 for what the fast path leaves to the reference (reserved values, indefinite
 * lengths, truncation). */
static inline int
read_arg(Dec *d, unsigned ai, uint64_t *out)
{
    if (ai < 24) {
        *out = ai;
        return 0;
    }
    int n;
    switch (ai) {
    case 24: n = 1; break;
    case 25: n = 2; break;
    case 26: n = 4; break;
    case 27: n = 8; break;
    default: return -1;
    }
    if (d->end - d->p < n)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | d->p[i];
    d->p += n;
    *out = v;
    return 0;
}

static PyObject *dec_item(Dec *d);

static inline int
dec_enter(Dec *d)
{
    return ++d->depth > d->max_depth ? -1 : 0;
}

/* The payload of a tag, decoded; NULL (no exception needed) to give up. */
static PyObject *dec_tag(Dec *d, uint64_t tag);

static PyObject *
dec_text(Dec *d, uint64_t n)
{
    if ((uint64_t)(d->end - d->p) < n)
        return NULL;
    PyObject *s = PyUnicode_DecodeUTF8((const char *)d->p, (Py_ssize_t)n, NULL);
    d->p += n;
    return s;
}

static PyObject *
dec_item(Dec *d)
{
    if (d->p >= d->end)
        return NULL;
    unsigned ib = *d->p++, major = ib >> 5, ai = ib & 31;
    uint64_t n;
    if (major == 7) {
        switch (ai) {
        case 20: Py_RETURN_FALSE;
        case 21: Py_RETURN_TRUE;
        case 22: return Py_NewRef(NULL_obj);  /* CBOR null is SurrealQL NULL */
        case 25:
            if (d->end - d->p < 2) return NULL;
            d->p += 2;
            return PyFloat_FromDouble(PyFloat_Unpack2((const char *)d->p - 2, 0));
        case 26:
            if (d->end - d->p < 4) return NULL;
            d->p += 4;
            return PyFloat_FromDouble(PyFloat_Unpack4((const char *)d->p - 4, 0));
        case 27:
            if (d->end - d->p < 8) return NULL;
            d->p += 8;
            return PyFloat_FromDouble(PyFloat_Unpack8((const char *)d->p - 8, 0));
        default: return NULL;  /* undefined, simple values, break: the reference's */
        }
    }
    if (read_arg(d, ai, &n) < 0)
        return NULL;
    switch (major) {
    case 0:
        return PyLong_FromUnsignedLongLong(n);
    case 1:
        if (n <= (uint64_t)LLONG_MAX)
            return PyLong_FromLongLong(-1 - (long long)n);
        else {
            PyObject *u = PyLong_FromUnsignedLongLong(n), *r;
            if (u == NULL)
                return NULL;
            r = PyNumber_Invert(u);  /* -1 - n */
            Py_DECREF(u);
            return r;
        }
    case 2:
        if ((uint64_t)(d->end - d->p) < n)
            return NULL;
        d->p += n;
        return PyBytes_FromStringAndSize((const char *)d->p - n, (Py_ssize_t)n);
    case 3:
        return dec_text(d, n);
    case 4: {
        if ((uint64_t)(d->end - d->p) < n || dec_enter(d) < 0)  /* >= 1 byte per item */
            return NULL;
        PyObject *list = PyList_New((Py_ssize_t)n);
        if (list == NULL)
            return NULL;
        for (uint64_t i = 0; i < n; i++) {
            PyObject *item = dec_item(d);
            if (item == NULL) {
                Py_DECREF(list);
                return NULL;
            }
            PyList_SET_ITEM(list, (Py_ssize_t)i, item);
        }
        d->depth--;
        return list;
    }
    case 5: {
        if ((uint64_t)(d->end - d->p) / 2 < n || dec_enter(d) < 0)
            return NULL;
        PyObject *dict = _PyDict_NewPresized((Py_ssize_t)n);
        if (dict == NULL)
            return NULL;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t kn;
            if (d->p >= d->end || (*d->p >> 5) != 3)  /* text keys only on the fast path */
                goto bad_map;
            unsigned kai = *d->p++ & 31;
            if (read_arg(d, kai, &kn) < 0)
                goto bad_map;
            PyObject *key = dec_text(d, kn);
            if (key == NULL)
                goto bad_map;
            PyObject *value = dec_item(d);
            if (value == NULL) {
                Py_DECREF(key);
                goto bad_map;
            }
            int r = PyDict_SetItem(dict, key, value);
            Py_DECREF(key);
            Py_DECREF(value);
            if (r < 0)
                goto bad_map;
        }
        d->depth--;
        return dict;
    bad_map:
        Py_DECREF(dict);
        return NULL;
    }
    case 6: {
        if (dec_enter(d) < 0)
            return NULL;
        PyObject *r = dec_tag(d, n);
        d->depth--;
        return r;
    }
    }
    return NULL;
}

/* Helpers for tag payloads. */
static inline int
is_pair(PyObject *v)
{
    return PyList_CheckExact(v) && PyList_GET_SIZE(v) == 2;
}

static inline int
as_ll(PyObject *v, long long *out)
{
    int overflow;
    if (!PyLong_CheckExact(v))
        return -1;
    *out = PyLong_AsLongLongAndOverflow(v, &overflow);
    return overflow ? -1 : 0;
}

static PyObject *
new_with(PyTypeObject *type, Py_ssize_t off1, PyObject *v1, Py_ssize_t off2, PyObject *v2)
{
    /* Takes new references to v1 and v2. */
    PyObject *o = new_instance(type);
    if (o == NULL)
        return NULL;
    SLOT(o, off1) = Py_NewRef(v1);
    if (v2 != NULL)
        SLOT(o, off2) = Py_NewRef(v2);
    return o;
}

/* Civil date from days since 1970-01-01 (H. Hinnant's civil_from_days). */
static inline void
civil_from_days(long long z, int *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long yy = (long long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static PyObject *
tag_datetime(PyObject *payload)
{
    long long secs, nanos;
    if (!is_pair(payload) || as_ll(PyList_GET_ITEM(payload, 0), &secs) < 0
            || as_ll(PyList_GET_ITEM(payload, 1), &nanos) < 0
            || nanos < 0 || nanos >= 1000000000LL || secs < min_secs || secs > max_secs)
        return NULL;
    long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    long long tod = secs - days * 86400;
    int y, m, dd;
    civil_from_days(days, &y, &m, &dd);
    PyObject *dt = PyDateTimeAPI->DateTime_FromDateAndTime(
        y, m, dd, (int)(tod / 3600), (int)(tod / 60 % 60), (int)(tod % 60),
        (int)(nanos / 1000), UTC_obj, Datetime_t);
    if (dt == NULL)
        return NULL;
    PyObject *ns = PyLong_FromLong((long)(nanos % 1000));
    if (ns == NULL) {
        Py_DECREF(dt);
        return NULL;
    }
    SLOT(dt, off_dt_ns) = ns;
    return dt;
}

static PyObject *
tag_duration(PyObject *payload)
{
    /* protocol.md §5.1 row 14: [] = 0, [secs], or [secs, nanos]. */
    Py_ssize_t n;
    long long secs = 0, nanos = 0;
    if (!PyList_CheckExact(payload) || (n = PyList_GET_SIZE(payload)) > 2)
        return NULL;
    if (n >= 1 && as_ll(PyList_GET_ITEM(payload, 0), &secs) < 0)
        return NULL;
    if (n == 2 && as_ll(PyList_GET_ITEM(payload, 1), &nanos) < 0)
        return NULL;
    /* Larger durations (up to u64 seconds) are left to the reference. */
    if (secs < 0 || secs > 9000000000LL || nanos < 0 || nanos >= 1000000000LL)
        return NULL;
    PyObject *ns = PyLong_FromLongLong(secs * 1000000000LL + nanos);
    if (ns == NULL)
        return NULL;
    PyObject *r = new_with(Duration_t, off_dur_ns, ns, 0, NULL);
    Py_DECREF(ns);
    return r;
}

static PyObject *
tag_uuid(PyObject *payload)
{
    if (!PyBytes_CheckExact(payload) || PyBytes_GET_SIZE(payload) != 16)
        return NULL;
    PyObject *v = _PyLong_FromByteArray(
        (const unsigned char *)PyBytes_AS_STRING(payload), 16, 0, 0);
    if (v == NULL)
        return NULL;
    PyObject *r = new_with(UUID_t, off_uuid_int, v, off_uuid_safe, uuid_unknown);
    Py_DECREF(v);
    return r;
}

static inline int
is_bound(PyObject *v)
{
    return v == NULL_obj || Py_IS_TYPE(v, Included_t) || Py_IS_TYPE(v, Excluded_t);
}

static inline int
is_geometry(PyTypeObject *t)
{
    if (t == Point_t)
        return 1;
    for (int i = 1; i <= 6; i++)
        if (t == Composite_t[i])
            return 1;
    return 0;
}

static PyObject *
tag_call(PyObject *callable, PyObject *payload)
{
    if (!PyUnicode_CheckExact(payload))
        return NULL;
    return PyObject_CallOneArg(callable, payload);
}

static PyObject *
tag_value(uint64_t tag, PyObject *payload)
{
    switch (tag) {
    case 6:
        return Py_NewRef(Py_None);  /* NONE; the payload is ignored (§5.1 row 6) */
    case 7:
        if (!PyUnicode_CheckExact(payload))
            return NULL;
        return new_with(Table_t, off_table_name, payload, 0, NULL);
    case 8:
        if (is_pair(payload) && PyUnicode_CheckExact(PyList_GET_ITEM(payload, 0)))
            return new_with(RecordID_t, off_rid_table, PyList_GET_ITEM(payload, 0),
                            off_rid_id, PyList_GET_ITEM(payload, 1));
        if (PyUnicode_CheckExact(payload))  /* kept unchecked, as the server sent it */
            return new_with(StringRecordID_t, off_srid_text, payload, 0, NULL);
        return NULL;
    case 9:
        return tag_call((PyObject *)UUID_t, payload);
    case 10:
        return tag_call((PyObject *)Decimal_t, payload);
    case 12:
        return tag_datetime(payload);
    case 13:
        return tag_call(duration_parse, payload);
    case 14:
        return tag_duration(payload);
    case 15:
        return tag_call((PyObject *)Future_t, payload);
    case 37:
        return tag_uuid(payload);
    case 49:
        if (!is_pair(payload) || !is_bound(PyList_GET_ITEM(payload, 0))
                || !is_bound(PyList_GET_ITEM(payload, 1)))
            return NULL;
        {
            PyObject *b = PyList_GET_ITEM(payload, 0), *c = PyList_GET_ITEM(payload, 1);
            return new_with(Range_t, off_range_begin, b == NULL_obj ? Py_None : b,
                            off_range_end, c == NULL_obj ? Py_None : c);
        }
    case 50:
        return new_with(Included_t, off_bound_value, payload, 0, NULL);
    case 51:
        return new_with(Excluded_t, off_bound_value, payload, 0, NULL);
    case 55:
        if (!is_pair(payload) || !PyUnicode_CheckExact(PyList_GET_ITEM(payload, 0))
                || !PyUnicode_CheckExact(PyList_GET_ITEM(payload, 1)))
            return NULL;
        return new_with(File_t, off_file_bucket, PyList_GET_ITEM(payload, 0),
                        off_file_key, PyList_GET_ITEM(payload, 1));
    case 56: {
        if (!PyList_CheckExact(payload))
            return NULL;
        PyObject *items = PyList_AsTuple(payload);
        if (items == NULL)
            return NULL;
        PyObject *r = new_with(Set_t, off_set_items, items, 0, NULL);
        Py_DECREF(items);
        return r;
    }
    case 88: {
        if (!is_pair(payload))
            return NULL;
        PyObject *x = PyList_GET_ITEM(payload, 0), *y = PyList_GET_ITEM(payload, 1);
        if (PyFloat_CheckExact(x) && PyFloat_CheckExact(y))
            return new_with(Point_t, off_point_lon, x, off_point_lat, y);
        if (!(PyFloat_CheckExact(x) || PyLong_CheckExact(x))
                || !(PyFloat_CheckExact(y) || PyLong_CheckExact(y)))
            return NULL;  /* decimal coordinates (1.x) and errors: the reference's */
        PyObject *fx = PyNumber_Float(x);
        if (fx == NULL)
            return NULL;
        PyObject *fy = PyNumber_Float(y);
        if (fy == NULL) {
            Py_DECREF(fx);
            return NULL;
        }
        PyObject *r = new_with(Point_t, off_point_lon, fx, off_point_lat, fy);
        Py_DECREF(fx);
        Py_DECREF(fy);
        return r;
    }
    case 89: case 90: case 91: case 92: case 93: case 94: {
        if (!PyList_CheckExact(payload))
            return NULL;
        PyTypeObject *part = CompositePart_t[tag - 88];
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(payload); i++) {
            PyTypeObject *t = Py_TYPE(PyList_GET_ITEM(payload, i));
            /* A collection holds geometries; anything else in it is the reference's. */
            if (part != NULL ? t != part : !is_geometry(t))
                return NULL;
        }
        PyObject *parts = PyList_AsTuple(payload);
        if (parts == NULL)
            return NULL;
        PyObject *r = new_with(Composite_t[tag - 88], off_parts, parts, 0, NULL);
        Py_DECREF(parts);
        return r;
    }
    }
    /* Any other tag stays opaque (protocol.md §5.2). */
    PyObject *number = PyLong_FromUnsignedLongLong(tag);
    if (number == NULL)
        return NULL;
    PyObject *r = new_with(Tagged_t, off_tagged_tag, number, off_tagged_value, payload);
    Py_DECREF(number);
    return r;
}

static PyObject *
dec_tag(Dec *d, uint64_t tag)
{
    /* Tags cbor2 decodes itself are the reference's (_codec._SEMANTIC), but for a UUID. */
    if (tag < 64) {
        if ((semantic_small >> tag) & 1 && tag != 37)
            return NULL;
    } else {
        for (int i = 0; i < semantic_big_count; i++)
            if (semantic_big[i] == tag)
                return NULL;
    }
    PyObject *payload = dec_item(d);
    if (payload == NULL)
        return NULL;
    PyObject *r = tag_value(tag, payload);
    Py_DECREF(payload);
    return r;
}

static PyObject *
decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (!ready) {
        PyErr_SetString(PyExc_RuntimeError, "setup() was not called");
        return NULL;
    }
    if (nargs != 1 || (kwnames != NULL && (PyTuple_GET_SIZE(kwnames) != 1
            || PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "max_depth"))))
        return PyObject_Vectorcall(py_decode, args, nargs | 0, kwnames);
    PyObject *data = args[0];
    long max_depth = 256;
    if (kwnames != NULL) {
        PyObject *md = args[1];
        if (!PyLong_CheckExact(md) || (max_depth = PyLong_AsLong(md)) < 0
                || max_depth > DECODE_DEPTH) {
            PyErr_Clear();
            return PyObject_Vectorcall(py_decode, args, nargs, kwnames);
        }
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        PyErr_Clear();
        return PyObject_Vectorcall(py_decode, args, nargs, kwnames);
    }
    Dec d;
    d.p = (const unsigned char *)view.buf;
    d.end = d.p + view.len;
    d.depth = 0;
    d.max_depth = (int)max_depth;
    PyObject *result = dec_item(&d);
    if (result != NULL && d.p != d.end)
        Py_CLEAR(result);  /* trailing bytes: the reference raises */
    PyBuffer_Release(&view);
    if (result == NULL) {
        PyErr_Clear();
        result = PyObject_Vectorcall(py_decode, args, nargs, kwnames);
    }
    return result;
}

/* ====================================================================== module */

static PyMethodDef methods[] = {
    {"setup", (PyCFunction)setup, METH_O,
     "setup(config)\n--\n\nGive the module the value classes and the reference codec."},
    {"encode", (PyCFunction)encode, METH_O,
     "encode(value)\n--\n\nEncode one value as SurrealDB CBOR (see surreal_proto._codec)."},
    {"decode", (PyCFunction)(void (*)(void))decode, METH_FASTCALL | METH_KEYWORDS,
     "decode(data, *, max_depth=256)\n--\n\n"
     "Decode one SurrealDB CBOR value (see surreal_proto._codec)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "surreal_proto._speedups",
    "Native fast path of surreal_proto._codec (same mapping, same errors).", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
