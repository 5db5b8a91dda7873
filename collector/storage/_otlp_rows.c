/* The ingest fast path: an OTLP ExportTraceServiceRequest, as protobuf bytes, straight into the
 * span columns of SPAN_SCHEMA (Arrow buffers: validity bitmaps, int32 offsets, UTF-8 data).
 *
 * The Python conversion (span_rows.py, normalize.py, otlp_values.py) is the reference: for any
 * request this code accepts, the columns must be exactly the ones Python gives
 * (tests/collector/storage/test_native_rows.py compares them over random and mutated requests).
 * Anything outside the common shape makes `spans` return None and Python converts the request:
 * an assessment event (gen_ai.evaluation.result), a map value with a repeated key, MLflow or
 * Langfuse attributes,
 * OpenLLMetry's indexed prompts, token counts sent as text, times past 2^63-1, a repeated
 * attribute key, a singular field or oneof sent twice, a wire type that does not match the
 * field, invalid UTF-8, kinds or status codes outside the enums, span types that are not ASCII.
 * Falling back is always correct; it only costs time.
 *
 * Every read is bounds-checked against the payload; malformed bytes make `spans` return None
 * (Python then raises its DecodeError, and the store quarantines the record as before).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ growable byte buffers */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} Buf;

static int buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) {
        if (cap > ((size_t)1 << 40)) return -1;
        cap *= 2;
    }
    char *data = realloc(b->data, cap);
    if (data == NULL) return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static int buf_put(Buf *b, const void *src, size_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    if (n) memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

static int buf_putc(Buf *b, char c) { return buf_put(b, &c, 1); }

static int buf_puts(Buf *b, const char *s) { return buf_put(b, s, strlen(s)); }

static void buf_free(Buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ columns */

enum ColumnKind { STRING, INT64, DOUBLE };

typedef struct {
    enum ColumnKind kind;
    Buf validity; /* one byte per row while building, packed into bits at the end */
    Buf values;   /* int32 offsets (strings: rows + 1) or 8-byte values */
    Buf data;     /* string bytes */
    Py_ssize_t nulls;
} Column;

/* The columns this module fills, in this order (span_rows.NATIVE_COLUMNS names them). */
enum {
    C_TRACE_ID, C_SPAN_ID, C_PARENT, C_NAME, C_SPAN_TYPE, C_SPAN_KIND, C_SERVICE, C_EXPERIMENT,
    C_START_NS, C_END_NS, C_DURATION, C_STATUS_CODE, C_STATUS_MESSAGE, C_INPUT, C_OUTPUT,
    C_MODEL, C_INPUT_TOKENS, C_OUTPUT_TOKENS, C_TOTAL_TOKENS, C_SESSION, C_USER, C_ATTRIBUTES,
    C_RESOURCE, C_SCOPE_NAME, C_SCOPE_VERSION, C_TRACE_STATE, C_EVENTS, C_LINKS, N_COLUMNS
};

static const enum ColumnKind COLUMN_KINDS[N_COLUMNS] = {
    STRING, STRING, STRING, STRING, STRING, STRING, STRING, STRING,
    INT64, INT64, DOUBLE, STRING, STRING, STRING, STRING,
    STRING, INT64, INT64, INT64, STRING, STRING, STRING,
    STRING, STRING, STRING, STRING, STRING, STRING,
};

static int col_start(Column *c) {
    if (c->kind == STRING) {
        int32_t zero = 0;
        return buf_put(&c->values, &zero, 4);
    }
    return 0;
}

static int col_string(Column *c, const char *s, size_t n) {
    if (c->data.len + n > INT32_MAX) return -1;
    if (buf_put(&c->data, s, n) < 0) return -1;
    int32_t end = (int32_t)c->data.len;
    if (buf_put(&c->values, &end, 4) < 0) return -1;
    return buf_putc(&c->validity, 1);
}

static int col_null(Column *c) {
    c->nulls++;
    if (c->kind == STRING) {
        int32_t end = (int32_t)c->data.len;
        if (buf_put(&c->values, &end, 4) < 0) return -1;
    } else {
        int64_t zero = 0;
        if (buf_put(&c->values, &zero, 8) < 0) return -1;
    }
    return buf_putc(&c->validity, 0);
}

static int col_int(Column *c, int64_t v) {
    if (buf_put(&c->values, &v, 8) < 0) return -1;
    return buf_putc(&c->validity, 1);
}

static int col_double(Column *c, double v) {
    if (buf_put(&c->values, &v, 8) < 0) return -1;
    return buf_putc(&c->validity, 1);
}

/* ------------------------------------------------------------------ protobuf wire format */

/* Return codes: OK, FALLBACK (let Python convert the request), ERROR (a Python exception is set). */
#define OK 0
#define FALLBACK 1
#define ERROR (-1)

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} Reader;

static int read_varint_max(Reader *r, uint64_t *out, int max_bytes) {
    uint64_t value = 0;
    for (int shift = 0; shift < 7 * max_bytes; shift += 7) {
        if (r->p >= r->end) return FALLBACK;
        uint8_t byte = *r->p++;
        value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = value;
            return OK;
        }
    }
    return FALLBACK; /* longer than the field allows */
}

static int read_varint(Reader *r, uint64_t *out) { return read_varint_max(r, out, 10); }

typedef struct {
    uint32_t field;
    int wire;
    uint64_t varint;         /* wire 0 */
    uint64_t fixed;          /* wire 1 and 5 */
    const uint8_t *bytes;    /* wire 2 */
    size_t len;
} Field;

/* The next field of a message; FALLBACK at the end (r->p == r->end) is told apart by `done`. */
static int next_field(Reader *r, Field *f, int *done) {
    *done = 0;
    if (r->p >= r->end) {
        *done = 1;
        return OK;
    }
    uint64_t tag;
    if (read_varint_max(r, &tag, 5) != OK || tag > UINT32_MAX) return FALLBACK;
    if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff) return FALLBACK;
    f->field = (uint32_t)(tag >> 3);
    f->wire = (int)(tag & 7);
    switch (f->wire) {
    case 0:
        return read_varint(r, &f->varint);
    case 1:
        if (r->end - r->p < 8) return FALLBACK;
        memcpy(&f->fixed, r->p, 8); /* little-endian machines only: checked at import */
        r->p += 8;
        return OK;
    case 5: {
        if (r->end - r->p < 4) return FALLBACK;
        uint32_t v;
        memcpy(&v, r->p, 4);
        f->fixed = v;
        r->p += 4;
        return OK;
    }
    case 2: {
        uint64_t len;
        if (read_varint_max(r, &len, 5) != OK || len > INT32_MAX) return FALLBACK;
        if (len > (uint64_t)(r->end - r->p)) return FALLBACK;
        f->bytes = r->p;
        f->len = (size_t)len;
        r->p += len;
        return OK;
    }
    default: /* groups (3, 4) and the reserved wire types */
        return FALLBACK;
    }
}

/* Strictness: the extension takes only bytes protobuf itself would read, with the meaning it
 * would give them. A field number a message does not know here (a newer protobuf schema, e.g.
 * Resource.entity_refs or AnyValue.string_value_strindex) sends the request to Python rather
 * than be skipped, and every text field is checked for UTF-8 where it appears (also in spans
 * that are skipped, and in each occurrence of a field sent twice), as protobuf checks them. */

/* ------------------------------------------------------------------ UTF-8 */

/* 1 when s[0..n) is valid UTF-8 (no surrogates, no overlongs, <= U+10FFFF), else 0; *ascii is
 * set when every byte is below 0x80. */
static int utf8_valid(const uint8_t *s, size_t n, int *ascii) {
    size_t i = 0;
    int all_ascii = 1;
    while (i < n) {
        /* ASCII runs eight bytes at a time */
        while (i + 8 <= n) {
            uint64_t chunk;
            memcpy(&chunk, s + i, 8);
            if (chunk & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= n) break;
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        all_ascii = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            if (i + 1 >= n || (s[i + 1] & 0xc0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            if (i + 2 >= n) return 0;
            uint8_t c1 = s[i + 1], c2 = s[i + 2];
            if ((c1 & 0xc0) != 0x80 || (c2 & 0xc0) != 0x80) return 0;
            if (c == 0xe0 && c1 < 0xa0) return 0;  /* overlong */
            if (c == 0xed && c1 >= 0xa0) return 0; /* surrogate */
            i += 3;
        } else if (c >= 0xf0 && c <= 0xf4) {
            if (i + 3 >= n) return 0;
            uint8_t c1 = s[i + 1], c2 = s[i + 2], c3 = s[i + 3];
            if ((c1 & 0xc0) != 0x80 || (c2 & 0xc0) != 0x80 || (c3 & 0xc0) != 0x80) return 0;
            if (c == 0xf0 && c1 < 0x90) return 0; /* overlong */
            if (c == 0xf4 && c1 >= 0x90) return 0; /* above U+10FFFF */
            i += 4;
        } else {
            return 0;
        }
    }
    if (ascii) *ascii = all_ascii;
    return 1;
}

/* ------------------------------------------------------------------ values */

enum ValueKind { V_NONE, V_STRING, V_BOOL, V_INT, V_DOUBLE, V_ARRAY, V_KVLIST, V_BYTES };

typedef struct {
    enum ValueKind kind;
    const uint8_t *bytes; /* string, bytes, array, kvlist: the field's bytes */
    size_t len;
    int64_t integer;      /* int, bool */
    double number;        /* double */
    int ascii;            /* string: every byte < 0x80 */
} Value;

/* An AnyValue's bytes as a Value. FALLBACK for an AnyValue with more than one field (oneof and
 * merge rules), for wrong wire types and invalid UTF-8. Arrays and maps are checked
 * (recursively) when they are encoded, not here. */
/* Nesting of arrays and maps taken here; deeper values go to Python (protobuf limits message
 * depth to 100, and Python's JSON encoder recurses). */
#define MAX_VALUE_DEPTH 16

static int check_key_value(const uint8_t *p, size_t n, int depth);

static int parse_any_value_at(const uint8_t *p, size_t n, Value *v, int depth);

static int check_value(const uint8_t *p, size_t n, int depth) {
    Value unused;
    return parse_any_value_at(p, n, &unused, depth);
}

/* Every entry of an ArrayValue (`check_value`) or a KeyValueList (`check_key_value`)
 * checked: text, nesting, fields. */
static int check_entries(const uint8_t *p, size_t n, int depth,
                         int (*check)(const uint8_t *, size_t, int)) {
    Reader r = {p, p + n};
    Field f;
    int done;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) return OK;
        if (f.field != 1 || f.wire != 2) return FALLBACK;
        if (check(f.bytes, f.len, depth) != OK) return FALLBACK;
    }
}

static int parse_any_value(const uint8_t *p, size_t n, Value *v) { return parse_any_value_at(p, n, v, 0); }

static int parse_any_value_at(const uint8_t *p, size_t n, Value *v, int depth) {
    Reader r = {p, p + n};
    Field f;
    int done, seen = 0;
    v->kind = V_NONE;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) break;
        if (seen++) return FALLBACK; /* oneof: two members, or one twice (merged) */
        switch (f.field) {
        case 1:
            if (f.wire != 2) return FALLBACK;
            if (!utf8_valid(f.bytes, f.len, &v->ascii)) return FALLBACK;
            v->kind = V_STRING;
            v->bytes = f.bytes;
            v->len = f.len;
            break;
        case 2:
            if (f.wire != 0) return FALLBACK;
            v->kind = V_BOOL;
            v->integer = f.varint != 0;
            break;
        case 3:
            if (f.wire != 0) return FALLBACK;
            v->kind = V_INT;
            v->integer = (int64_t)f.varint;
            break;
        case 4:
            if (f.wire != 1) return FALLBACK;
            v->kind = V_DOUBLE;
            memcpy(&v->number, &f.fixed, 8);
            break;
        case 5: /* array_value */
        case 6: /* kvlist_value */
            if (f.wire != 2 || depth >= MAX_VALUE_DEPTH) return FALLBACK;
            if (check_entries(f.bytes, f.len, depth + 1, f.field == 5 ? check_value : check_key_value) != OK)
                return FALLBACK;
            v->kind = f.field == 5 ? V_ARRAY : V_KVLIST;
            v->bytes = f.bytes;
            v->len = f.len;
            break;
        case 7:
            if (f.wire != 2) return FALLBACK;
            v->kind = V_BYTES;
            v->bytes = f.bytes;
            v->len = f.len;
            break;
        default: /* a field this schema does not know */
            return FALLBACK;
        }
    }
    return OK;
}

/* ------------------------------------------------------------------ JSON text as Python writes it */

/* A string as json.dumps(ensure_ascii=False) writes it (orjson writes the same for str). */
static int json_string(Buf *b, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (buf_reserve(b, n + 2) < 0) return ERROR;
    b->data[b->len++] = '"';
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        /* Skip eight bytes at a time while none needs escaping: no byte below 0x20, no quote,
         * no backslash (word tests for a zero or smaller byte; bytes >= 0x80 never match). */
        while (i + 8 <= n) {
            uint64_t w, ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
            memcpy(&w, s + i, 8);
            uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
            uint64_t special = ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
                               ((backslash - ones) & ~backslash);
            if (special & highs) break;
            i += 8;
        }
        if (i >= n) break;
        uint8_t c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        if (buf_put(b, s + start, i - start) < 0) return ERROR;
        start = i + 1;
        char esc[7];
        size_t len = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        if (buf_put(b, esc, len) < 0) return ERROR;
    }
    if (buf_put(b, s + start, n - start) < 0) return ERROR;
    return buf_putc(b, '"') < 0 ? ERROR : OK;
}

static int put_int(Buf *b, int64_t v) {
    char text[24];
    int n = snprintf(text, sizeof text, "%lld", (long long)v);
    return buf_put(b, text, (size_t)n) < 0 ? ERROR : OK;
}

/* repr(float) for a finite double: the shortest digits that read back as the same double,
 * written the way Python writes them (float_repr_style 'short'). */
static int put_double_repr(Buf *b, double v) {
    char *text = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (text == NULL) return ERROR;
    int rc = buf_puts(b, text) < 0 ? ERROR : OK;
    PyMem_Free(text);
    return rc;
}

static int put_base64(Buf *b, const uint8_t *s, size_t n) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (buf_reserve(b, (n + 2) / 3 * 4) < 0) return ERROR;
    char *out = b->data + b->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t w = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *out++ = alphabet[w >> 18];
        *out++ = alphabet[(w >> 12) & 63];
        *out++ = alphabet[(w >> 6) & 63];
        *out++ = alphabet[w & 63];
    }
    if (n - i == 1) {
        uint32_t w = (uint32_t)s[i] << 16;
        *out++ = alphabet[w >> 18];
        *out++ = alphabet[(w >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        uint32_t w = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *out++ = alphabet[w >> 18];
        *out++ = alphabet[(w >> 12) & 63];
        *out++ = alphabet[(w >> 6) & 63];
        *out++ = '=';
    }
    b->len = (size_t)(out - b->data);
    return OK;
}

static int json_value(Buf *b, const Value *v, int depth);
static int json_kvlist(Buf *b, const uint8_t *p, size_t n, int depth);

/* An ArrayValue's values as a JSON list. */
static int json_array(Buf *b, const uint8_t *p, size_t n, int depth) {
    if (depth > 64) return FALLBACK; /* Python's own limits apply there */
    Reader r = {p, p + n};
    Field f;
    int done, first = 1, rc;
    if (buf_putc(b, '[') < 0) return ERROR;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) break;
        if (f.field != 1) continue;
        if (f.wire != 2) return FALLBACK;
        Value item;
        if (parse_any_value(f.bytes, f.len, &item) != OK) return FALLBACK;
        if (!first && buf_putc(b, ',') < 0) return ERROR;
        first = 0;
        if ((rc = json_value(b, &item, depth + 1)) != OK) return rc;
    }
    return buf_putc(b, ']') < 0 ? ERROR : OK;
}

/* A value as to_json writes it (json.dumps, compact; a non-finite double as a quoted name). */
static int json_value(Buf *b, const Value *v, int depth) {
    switch (v->kind) {
    case V_NONE:
        return buf_puts(b, "null") < 0 ? ERROR : OK;
    case V_STRING:
        return json_string(b, v->bytes, v->len);
    case V_BOOL:
        return buf_puts(b, v->integer ? "true" : "false") < 0 ? ERROR : OK;
    case V_INT:
        return put_int(b, v->integer);
    case V_DOUBLE:
        if (isnan(v->number)) return buf_puts(b, "\"NaN\"") < 0 ? ERROR : OK;
        if (isinf(v->number))
            return buf_puts(b, v->number > 0 ? "\"Infinity\"" : "\"-Infinity\"") < 0 ? ERROR : OK;
        return put_double_repr(b, v->number);
    case V_ARRAY:
        return json_array(b, v->bytes, v->len, depth);
    case V_KVLIST:
        return json_kvlist(b, v->bytes, v->len, depth);
    case V_BYTES:
        if (buf_putc(b, '"') < 0) return ERROR;
        if (put_base64(b, v->bytes, v->len) != OK) return ERROR;
        return buf_putc(b, '"') < 0 ? ERROR : OK;
    }
    return FALLBACK;
}

/* ------------------------------------------------------------------ attributes */

typedef struct {
    const uint8_t *key;
    size_t key_len;
    Value value;
} Attribute;

typedef struct {
    Attribute *items;
    size_t len;
    size_t cap;
} Attributes;

/* The keys normalize.py reads. Each span's attributes are looked up once into a slot per key. */
enum {
    K_OTEL_FEEDBACK_SPAN_TYPE, K_OPENINFERENCE_SPAN_KIND, K_INPUT_VALUE, K_OUTPUT_VALUE,
    K_LLM_MODEL_NAME, K_EMBEDDING_MODEL_NAME, K_LLM_TOKEN_COUNT_PROMPT,
    K_LLM_TOKEN_COUNT_COMPLETION, K_LLM_TOKEN_COUNT_TOTAL, K_SESSION_ID, K_USER_ID,
    /* OpenLLMetry */
    K_TRACELOOP_SPAN_KIND, K_LLM_REQUEST_TYPE, K_TRACELOOP_ENTITY_INPUT, K_TRACELOOP_ENTITY_OUTPUT,
    K_GEN_AI_PROMPT_0_CONTENT, K_GEN_AI_COMPLETION_0_CONTENT, K_GEN_AI_USAGE_PROMPT_TOKENS,
    K_LLM_USAGE_PROMPT_TOKENS, K_GEN_AI_USAGE_COMPLETION_TOKENS, K_LLM_USAGE_COMPLETION_TOKENS,
    K_LLM_USAGE_TOTAL_TOKENS, K_TRACELOOP_SESSION_ID, K_TRACELOOP_USER_ID,
    /* OpenTelemetry GenAI */
    K_GEN_AI_OPERATION_NAME, K_GEN_AI_INPUT_MESSAGES, K_GEN_AI_TOOL_CALL_ARGUMENTS, K_GEN_AI_PROMPT,
    K_GEN_AI_OUTPUT_MESSAGES, K_GEN_AI_TOOL_CALL_RESULT, K_GEN_AI_COMPLETION,
    K_GEN_AI_RESPONSE_MODEL, K_GEN_AI_REQUEST_MODEL, K_LLM_RESPONSE_MODEL, K_LLM_REQUEST_MODEL,
    K_GEN_AI_USAGE_INPUT_TOKENS, K_GEN_AI_USAGE_OUTPUT_TOKENS, K_GEN_AI_CONVERSATION_ID,
    K_ENDUSER_ID,
    /* ours, and the resource's */
    K_OTEL_FEEDBACK_EXPERIMENT, K_SERVICE_NAME,
    /* present: the request goes to Python */
    K_MLFLOW_SPAN_TYPE, K_MLFLOW_SPAN_INPUTS, K_MLFLOW_SPAN_OUTPUTS, K_MLFLOW_LLM_MODEL,
    K_MLFLOW_CHAT_TOKEN_USAGE, K_LANGFUSE_OBSERVATION_TYPE, K_LANGFUSE_OBSERVATION_INPUT,
    K_LANGFUSE_OBSERVATION_OUTPUT, K_LANGFUSE_TRACE_INPUT, K_LANGFUSE_TRACE_OUTPUT,
    K_LANGFUSE_OBSERVATION_MODEL_NAME, K_LANGFUSE_OBSERVATION_USAGE_DETAILS, K_LANGFUSE_SESSION_ID,
    K_LANGFUSE_USER_ID,
    N_KEYS
};

#define FIRST_OPENINFERENCE K_OTEL_FEEDBACK_SPAN_TYPE
#define LAST_OPENINFERENCE K_USER_ID
#define FIRST_OPENLLMETRY K_TRACELOOP_SPAN_KIND
#define LAST_OPENLLMETRY K_TRACELOOP_USER_ID
#define FIRST_GENAI K_GEN_AI_OPERATION_NAME
#define LAST_GENAI K_ENDUSER_ID
#define FIRST_PYTHON_ONLY K_MLFLOW_SPAN_TYPE

static const char *const KEY_NAMES[N_KEYS] = {
    "otel_feedback.span_type", "openinference.span.kind", "input.value", "output.value",
    "llm.model_name", "embedding.model_name", "llm.token_count.prompt",
    "llm.token_count.completion", "llm.token_count.total", "session.id", "user.id",
    "traceloop.span.kind", "llm.request.type", "traceloop.entity.input", "traceloop.entity.output",
    "gen_ai.prompt.0.content", "gen_ai.completion.0.content", "gen_ai.usage.prompt_tokens",
    "llm.usage.prompt_tokens", "gen_ai.usage.completion_tokens", "llm.usage.completion_tokens",
    "llm.usage.total_tokens", "traceloop.association.properties.session_id",
    "traceloop.association.properties.user_id",
    "gen_ai.operation.name", "gen_ai.input.messages", "gen_ai.tool.call.arguments", "gen_ai.prompt",
    "gen_ai.output.messages", "gen_ai.tool.call.result", "gen_ai.completion",
    "gen_ai.response.model", "gen_ai.request.model", "llm.response.model", "llm.request.model",
    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.conversation.id",
    "enduser.id",
    "otel_feedback.experiment", "service.name",
    "mlflow.spanType", "mlflow.spanInputs", "mlflow.spanOutputs", "mlflow.llm.model",
    "mlflow.chat.tokenUsage", "langfuse.observation.type", "langfuse.observation.input",
    "langfuse.observation.output", "langfuse.trace.input", "langfuse.trace.output",
    "langfuse.observation.model.name", "langfuse.observation.usage_details", "langfuse.session.id",
    "langfuse.user.id",
};

/* Open addressing over the key hashes, filled at import. */
#define KEY_TABLE_SIZE 256
static int16_t key_table[KEY_TABLE_SIZE];
static size_t key_lengths[N_KEYS];

static uint32_t key_hash(const uint8_t *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h;
}

static void key_table_init(void) {
    for (int i = 0; i < KEY_TABLE_SIZE; i++) key_table[i] = -1;
    for (int k = 0; k < N_KEYS; k++) {
        key_lengths[k] = strlen(KEY_NAMES[k]);
        uint32_t slot = key_hash((const uint8_t *)KEY_NAMES[k], key_lengths[k]) % KEY_TABLE_SIZE;
        while (key_table[slot] >= 0) slot = (slot + 1) % KEY_TABLE_SIZE;
        key_table[slot] = (int16_t)k;
    }
}

static int key_lookup(const uint8_t *s, size_t n) {
    if (n < 7 || n > 44) return -1; /* the shortest and longest names above */
    uint32_t slot = key_hash(s, n) % KEY_TABLE_SIZE;
    while (key_table[slot] >= 0) {
        int k = key_table[slot];
        if (key_lengths[k] == n && memcmp(KEY_NAMES[k], s, n) == 0) return k;
        slot = (slot + 1) % KEY_TABLE_SIZE;
    }
    return -1;
}

typedef struct {
    Attributes list;
    const Value *slots[N_KEYS]; /* NULL: key absent */
    int present_openinference, present_openllmetry, present_genai;
} SpanAttributes;

/* Parse a repeated KeyValue field's entries (already collected as byte ranges) into `out`. */
/* One KeyValue; its value checked to `depth`. */
static int parse_key_value(const uint8_t *p, size_t n, Attribute *a, int depth) {
    Reader r = {p, p + n};
    Field f;
    int done, keys = 0, values = 0, ascii;
    a->key = (const uint8_t *)"";
    a->key_len = 0;
    a->value.kind = V_NONE;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) return OK;
        if (f.field == 1) {
            if (f.wire != 2 || keys++) return FALLBACK;
            if (!utf8_valid(f.bytes, f.len, &ascii)) return FALLBACK;
            a->key = f.bytes;
            a->key_len = f.len;
        } else if (f.field == 2) {
            if (f.wire != 2 || values++) return FALLBACK;
            if (parse_any_value_at(f.bytes, f.len, &a->value, depth) != OK) return FALLBACK;
        } else {
            return FALLBACK;
        }
    }
}

static int check_key_value(const uint8_t *p, size_t n, int depth) {
    Attribute unused;
    return parse_key_value(p, n, &unused, depth);
}

static int add_key_value(Attributes *out, const uint8_t *p, size_t n) {
    Attribute a;
    if (parse_key_value(p, n, &a, 0) != OK) return FALLBACK;
    if (out->len == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 32;
        Attribute *items = realloc(out->items, cap * sizeof *items);
        if (items == NULL) {
            PyErr_NoMemory();
            return ERROR;
        }
        out->items = items;
        out->cap = cap;
    }
    out->items[out->len++] = a;
    return OK;
}

static int same_key(const Attribute *a, const Attribute *b) {
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

static int compare_keys(const void *left, const void *right) {
    const Attribute *a = *(const Attribute *const *)left, *b = *(const Attribute *const *)right;
    if (a->key_len != b->key_len) return a->key_len < b->key_len ? -1 : 1;
    return memcmp(a->key, b->key, a->key_len);
}

/* FALLBACK when a key appears twice (Python's dict keeps the first position and the last
 * value: Python writes those), OK when every key is unique, ERROR without memory. Sorted past
 * a few keys: n log n whatever the keys (a hash table could be made to collide by a sender). */
static int check_unique_keys(const Attributes *list) {
    size_t n = list->len;
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (same_key(&list->items[i], &list->items[j])) return FALLBACK;
        return OK;
    }
    const Attribute **sorted = malloc(n * sizeof *sorted);
    if (sorted == NULL) {
        PyErr_NoMemory();
        return ERROR;
    }
    for (size_t i = 0; i < n; i++) sorted[i] = &list->items[i];
    qsort(sorted, n, sizeof *sorted, compare_keys);
    int rc = OK;
    for (size_t i = 1; i < n && rc == OK; i++)
        if (same_key(sorted[i - 1], sorted[i])) rc = FALLBACK;
    free(sorted);
    return rc;
}

/* Fill the slots; FALLBACK for a repeated key (Python's dict keeps the first position and the
 * last value) or a key only Python handles. */
static int index_attributes(SpanAttributes *s) {
    memset(s->slots, 0, sizeof s->slots);
    s->present_openinference = s->present_openllmetry = s->present_genai = 0;
    int rc = check_unique_keys(&s->list);
    if (rc != OK) return rc;
    for (size_t i = 0; i < s->list.len; i++) {
        const Attribute *a = &s->list.items[i];
        int k = key_lookup(a->key, a->key_len);
        if (k < 0) continue;
        if (k >= FIRST_PYTHON_ONLY) return FALLBACK;
        s->slots[k] = &a->value;
        if (k <= LAST_OPENINFERENCE) s->present_openinference = 1;
        else if (k >= FIRST_OPENLLMETRY && k <= LAST_OPENLLMETRY) s->present_openllmetry = 1;
        else if (k >= FIRST_GENAI && k <= LAST_GENAI) s->present_genai = 1;
    }
    return OK;
}

/* The attributes as the JSON object Python writes (insertion order; keys are unique here). */
static int attributes_json(Buf *b, const Attributes *list) {
    int rc;
    if (buf_putc(b, '{') < 0) return ERROR;
    for (size_t i = 0; i < list->len; i++) {
        const Attribute *a = &list->items[i];
        if (i && buf_putc(b, ',') < 0) return ERROR;
        if ((rc = json_string(b, a->key, a->key_len)) != OK) return rc;
        if (buf_putc(b, ':') < 0) return ERROR;
        if ((rc = json_value(b, &a->value, 0)) != OK) return rc;
    }
    return buf_putc(b, '}') < 0 ? ERROR : OK;
}

/* A KeyValueList (a map value) as the JSON object of key_values_to_dict; FALLBACK for a
 * repeated key. */
static int json_kvlist(Buf *b, const uint8_t *p, size_t n, int depth) {
    if (depth > 64) return FALLBACK;
    Attributes list = {NULL, 0, 0};
    Reader r = {p, p + n};
    Field f;
    int done, rc = OK;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) {
            rc = FALLBACK;
            break;
        }
        if (done) break;
        if (f.field != 1) continue;
        if (f.wire != 2) {
            rc = FALLBACK;
            break;
        }
        if ((rc = add_key_value(&list, f.bytes, f.len)) != OK) break;
    }
    if (rc == OK) rc = check_unique_keys(&list);
    if (rc == OK && buf_putc(b, '{') < 0) rc = ERROR;
    for (size_t i = 0; rc == OK && i < list.len; i++) {
        const Attribute *a = &list.items[i];
        if (i && buf_putc(b, ',') < 0) rc = ERROR;
        if (rc == OK) rc = json_string(b, a->key, a->key_len);
        if (rc == OK && buf_putc(b, ':') < 0) rc = ERROR;
        if (rc == OK) rc = json_value(b, &a->value, depth + 1);
    }
    if (rc == OK && buf_putc(b, '}') < 0) rc = ERROR;
    free(list.items);
    return rc;
}

/* ------------------------------------------------------------------ normalize.py, in C */

/* A promoted text: NULL (None) or bytes, either in the payload or in its scratch buffer. */
typedef struct {
    const char *p;
    size_t n;
    int set;
    Buf scratch;
} Text;

static void text_reset(Text *t) {
    t->set = 0;
    t->p = NULL;
    t->n = 0;
    t->scratch.len = 0;
}

static int text_from_scratch(Text *t) {
    t->set = 1;
    t->p = t->scratch.data;
    t->n = t->scratch.len;
    return OK;
}

/* normalize._text: a string as it is (empty: None), None as None, anything else as JSON. */
static int text_of(Text *t, const Value *v) {
    text_reset(t);
    if (v == NULL || v->kind == V_NONE) return OK;
    if (v->kind == V_STRING) {
        if (v->len == 0) return OK;
        t->set = 1;
        t->p = (const char *)v->bytes;
        t->n = v->len;
        return OK;
    }
    if (v->kind == V_BYTES) { /* base64 text: a str in Python, so not JSON-quoted */
        if (v->len == 0) return OK;
        if (put_base64(&t->scratch, v->bytes, v->len) != OK) return ERROR;
        return text_from_scratch(t);
    }
    int rc = json_value(&t->scratch, v, 0);
    if (rc != OK) return rc;
    return text_from_scratch(t);
}

/* `a or b`: keep `t` when set, else take `v`'s text. */
static int text_or(Text *t, const Value *v) {
    if (t->set) return OK;
    return text_of(t, v);
}

/* normalize._upper: str(value).upper(), None for None and "". */
static int upper_of(Text *t, const Value *v) {
    text_reset(t);
    if (v == NULL || v->kind == V_NONE) return OK;
    switch (v->kind) {
    case V_STRING:
        if (v->len == 0) return OK;
        if (!v->ascii) return FALLBACK; /* Unicode case mapping: Python's */
        if (buf_put(&t->scratch, v->bytes, v->len) < 0) return ERROR;
        for (size_t i = 0; i < t->scratch.len; i++) {
            char c = t->scratch.data[i];
            if (c >= 'a' && c <= 'z') t->scratch.data[i] = (char)(c - 32);
        }
        return text_from_scratch(t);
    case V_BOOL:
        if (buf_puts(&t->scratch, v->integer ? "TRUE" : "FALSE") < 0) return ERROR;
        return text_from_scratch(t);
    case V_INT:
        if (put_int(&t->scratch, v->integer) != OK) return ERROR;
        return text_from_scratch(t);
    default:
        return FALLBACK;
    }
}

/* `span_type or _MAP.get(str(value).lower())` with `value is not None`: the mapped type, or
 * NULL. FALLBACK where str() or lower() needs Python (non-ASCII text, bytes, doubles). */
typedef struct {
    const char *from;
    const char *to;
} Mapping;

static const Mapping TRACELOOP_KINDS[] = {
    {"workflow", "CHAIN"}, {"task", "CHAIN"}, {"agent", "AGENT"}, {"tool", "TOOL"}, {NULL, NULL}};
static const Mapping LLM_REQUEST_TYPES[] = {
    {"chat", "LLM"}, {"completion", "LLM"}, {"embedding", "EMBEDDING"}, {"rerank", "RERANKER"},
    {NULL, NULL}};
static const Mapping GENAI_OPERATIONS[] = {
    {"chat", "LLM"}, {"text_completion", "LLM"}, {"generate_content", "LLM"},
    {"embeddings", "EMBEDDING"}, {"execute_tool", "TOOL"}, {"invoke_agent", "AGENT"},
    {"create_agent", "AGENT"}, {NULL, NULL}};

static int mapped_type(Text *span_type, const Value *v, const Mapping *map) {
    if (span_type->set || v == NULL || v->kind == V_NONE) return OK;
    if (v->kind == V_INT || v->kind == V_BOOL || v->kind == V_ARRAY) return OK; /* never a name */
    if (v->kind != V_STRING || !v->ascii) return FALLBACK;
    if (v->len > 32) return OK;
    char lower[33];
    for (size_t i = 0; i < v->len; i++) {
        char c = (char)v->bytes[i];
        lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    for (const Mapping *m = map; m->from; m++) {
        if (strlen(m->from) == v->len && memcmp(m->from, lower, v->len) == 0) {
            text_reset(span_type);
            if (buf_puts(&span_type->scratch, m->to) < 0) return ERROR;
            return text_from_scratch(span_type);
        }
    }
    return OK;
}

/* value_bounds.token_count. */
typedef struct {
    int set;
    int64_t value;
} Count;

static int token_count(Count *c, const Value *v) {
    c->set = 0;
    if (v == NULL) return OK;
    switch (v->kind) {
    case V_NONE:
    case V_BOOL:
    case V_ARRAY: /* float(list): TypeError */
        return OK;
    case V_INT:
        if (v->integer >= 0) {
            c->set = 1;
            c->value = v->integer;
        }
        return OK;
    case V_DOUBLE:
        /* int(float) truncates toward zero; then 0 <= n <= 2^63-1 */
        if (v->number > -1.0 && v->number < 9223372036854775808.0) {
            c->set = 1;
            c->value = (int64_t)v->number;
        }
        return OK;
    default: /* text (and bytes, base64 text) go through float(str): Python's */
        return FALLBACK;
    }
}

/* `count if count is not None else token_count(v)` (also _first_int's steps). */
static int count_or(Count *c, const Value *v) {
    if (c->set) return OK;
    return token_count(c, v);
}

typedef struct {
    Text span_type, input, output, model, session, user, experiment;
    Count input_tokens, output_tokens, total_tokens;
} Normalized;

#define TRY(call)                    \
    do {                             \
        int rc_ = (call);            \
        if (rc_ != OK) return rc_;   \
    } while (0)

static int normalize(Normalized *n, const SpanAttributes *s, const Value *resource_experiment,
                     const Value *resource_service) {
    const Value *const *k = s->slots;
    text_reset(&n->span_type);
    text_reset(&n->input);
    text_reset(&n->output);
    text_reset(&n->model);
    text_reset(&n->session);
    text_reset(&n->user);
    n->input_tokens.set = n->output_tokens.set = n->total_tokens.set = 0;

    if (s->present_openinference) {
        TRY(upper_of(&n->span_type, k[K_OTEL_FEEDBACK_SPAN_TYPE]));
        if (!n->span_type.set) TRY(upper_of(&n->span_type, k[K_OPENINFERENCE_SPAN_KIND]));
        TRY(text_of(&n->input, k[K_INPUT_VALUE]));
        TRY(text_of(&n->output, k[K_OUTPUT_VALUE]));
        TRY(text_of(&n->model, k[K_LLM_MODEL_NAME]));
        TRY(text_or(&n->model, k[K_EMBEDDING_MODEL_NAME]));
        TRY(token_count(&n->input_tokens, k[K_LLM_TOKEN_COUNT_PROMPT]));
        TRY(token_count(&n->output_tokens, k[K_LLM_TOKEN_COUNT_COMPLETION]));
        TRY(token_count(&n->total_tokens, k[K_LLM_TOKEN_COUNT_TOTAL]));
        TRY(text_of(&n->session, k[K_SESSION_ID]));
        TRY(text_of(&n->user, k[K_USER_ID]));
    }
    if (s->present_openllmetry) {
        if (k[K_GEN_AI_PROMPT_0_CONTENT] || k[K_GEN_AI_COMPLETION_0_CONTENT]) return FALLBACK;
        TRY(mapped_type(&n->span_type, k[K_TRACELOOP_SPAN_KIND], TRACELOOP_KINDS));
        TRY(mapped_type(&n->span_type, k[K_LLM_REQUEST_TYPE], LLM_REQUEST_TYPES));
        TRY(text_or(&n->input, k[K_TRACELOOP_ENTITY_INPUT]));
        TRY(text_or(&n->output, k[K_TRACELOOP_ENTITY_OUTPUT]));
        if (!n->input_tokens.set) {
            TRY(token_count(&n->input_tokens, k[K_GEN_AI_USAGE_PROMPT_TOKENS]));
            TRY(count_or(&n->input_tokens, k[K_LLM_USAGE_PROMPT_TOKENS]));
        }
        if (!n->output_tokens.set) {
            TRY(token_count(&n->output_tokens, k[K_GEN_AI_USAGE_COMPLETION_TOKENS]));
            TRY(count_or(&n->output_tokens, k[K_LLM_USAGE_COMPLETION_TOKENS]));
        }
        TRY(count_or(&n->total_tokens, k[K_LLM_USAGE_TOTAL_TOKENS]));
        TRY(text_or(&n->session, k[K_TRACELOOP_SESSION_ID]));
        TRY(text_or(&n->user, k[K_TRACELOOP_USER_ID]));
    }
    if (s->present_genai) {
        TRY(mapped_type(&n->span_type, k[K_GEN_AI_OPERATION_NAME], GENAI_OPERATIONS));
        TRY(text_or(&n->input, k[K_GEN_AI_INPUT_MESSAGES]));
        TRY(text_or(&n->input, k[K_GEN_AI_TOOL_CALL_ARGUMENTS]));
        TRY(text_or(&n->input, k[K_GEN_AI_PROMPT]));
        TRY(text_or(&n->output, k[K_GEN_AI_OUTPUT_MESSAGES]));
        TRY(text_or(&n->output, k[K_GEN_AI_TOOL_CALL_RESULT]));
        TRY(text_or(&n->output, k[K_GEN_AI_COMPLETION]));
        TRY(text_or(&n->model, k[K_GEN_AI_RESPONSE_MODEL]));
        TRY(text_or(&n->model, k[K_GEN_AI_REQUEST_MODEL]));
        TRY(text_or(&n->model, k[K_LLM_RESPONSE_MODEL]));
        TRY(text_or(&n->model, k[K_LLM_REQUEST_MODEL]));
        TRY(count_or(&n->input_tokens, k[K_GEN_AI_USAGE_INPUT_TOKENS]));
        TRY(count_or(&n->output_tokens, k[K_GEN_AI_USAGE_OUTPUT_TOKENS]));
        TRY(text_or(&n->session, k[K_GEN_AI_CONVERSATION_ID]));
        TRY(text_or(&n->user, k[K_ENDUSER_ID]));
    }
    if (!n->total_tokens.set && n->input_tokens.set && n->output_tokens.set) {
        /* token_total: NULL when the sum passes int64 */
        if (n->input_tokens.value <= INT64_MAX - n->output_tokens.value) {
            n->total_tokens.set = 1;
            n->total_tokens.value = n->input_tokens.value + n->output_tokens.value;
        }
    }
    TRY(text_of(&n->experiment, k[K_OTEL_FEEDBACK_EXPERIMENT]));
    TRY(text_or(&n->experiment, resource_experiment));
    TRY(text_or(&n->experiment, resource_service));
    return OK;
}

/* ------------------------------------------------------------------ the request */

/* For ResourceSpans and ScopeSpans: `repeated` (field `items`, a message) needs wire type 2, and
 * `schema_url` (field `url`) valid UTF-8, as protobuf checks it even though it is not stored. */
static int check_field(const Field *f, uint32_t items, uint32_t url) {
    int ascii;
    if (f->field == items) return f->wire == 2 ? OK : FALLBACK;
    if (f->field == url) return f->wire == 2 && utf8_valid(f->bytes, f->len, &ascii) ? OK : FALLBACK;
    return FALLBACK; /* a field this schema does not know */
}

typedef struct {
    Column columns[N_COLUMNS];
    Py_ssize_t rows;
    PyObject *seen;  /* set of (trace_id, span_id) */
    PyObject *added; /* list of the keys this call added to `seen` */
    SpanAttributes attributes;
    Normalized normalized;
    Buf json;        /* one span's attributes JSON */
    Buf events;      /* its events' JSON */
    Buf links;       /* its links' JSON */
    Attributes nested; /* an event's or link's attributes */
    /* the current resource */
    Buf resource_json;
    SpanAttributes resource_attributes;
    const Value *resource_experiment, *resource_service;
    /* the current scope */
    const uint8_t *scope_name, *scope_version;
    size_t scope_name_len, scope_version_len;
} State;

static const char *const SPAN_KINDS[] = {"UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT",
                                         "PRODUCER", "CONSUMER"};
static const char *const STATUS_CODES[] = {"UNSET", "OK", "ERROR"};

static int hex_of(char *out, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        nonzero |= s[i];
        out[2 * i] = hex[s[i] >> 4];
        out[2 * i + 1] = hex[s[i] & 15];
    }
    return nonzero;
}

static int put_text(Column *c, const Text *t) {
    if (!t->set) return col_null(c) < 0 ? ERROR : OK;
    return col_string(c, t->p, t->n) < 0 ? ERROR : OK;
}

static int put_count(Column *c, const Count *count) {
    if (!count->set) return col_null(c) < 0 ? ERROR : OK;
    return col_int(c, count->value) < 0 ? ERROR : OK;
}

static int put_bytes_or_null(Column *c, const uint8_t *p, size_t n) {
    if (n == 0) return col_null(c) < 0 ? ERROR : OK;
    return col_string(c, (const char *)p, n) < 0 ? ERROR : OK;
}

/* Is (trace_id, span_id) new in this flush? Adds it to `seen` (and `added`) when it is. */
static int claim_key(State *st, const char *trace_hex, size_t trace_n, const char *span_hex,
                     size_t span_n, int *is_new) {
    PyObject *key = Py_BuildValue("(s#s#)", trace_hex, (Py_ssize_t)trace_n, span_hex,
                                  (Py_ssize_t)span_n);
    if (key == NULL) return ERROR;
    int found = PySet_Contains(st->seen, key);
    if (found < 0 || (!found && (PySet_Add(st->seen, key) < 0 || PyList_Append(st->added, key) < 0))) {
        Py_DECREF(key);
        return ERROR;
    }
    Py_DECREF(key);
    *is_new = !found;
    return OK;
}

/* A length-delimited field's bytes (FALLBACK for another wire type); text: also valid UTF-8. */
static int take_bytes(const Field *f, const uint8_t **p, size_t *n) {
    if (f->wire != 2) return FALLBACK;
    *p = f->bytes;
    *n = f->len;
    return OK;
}

static int take_text(const Field *f, const uint8_t **p, size_t *n) {
    int ascii;
    if (f->wire != 2 || !utf8_valid(f->bytes, f->len, &ascii)) return FALLBACK;
    return take_bytes(f, p, n);
}

/* Fields 1-3 of both Span and Link: trace_id, span_id, trace_state. */
typedef struct {
    const uint8_t *trace_id, *span_id, *trace_state;
    size_t trace_len, span_len, state_len;
} Ids;

/* OK when `f` is one of them (taken), NOT_IDS when it is another field, FALLBACK when wrong. */
#define NOT_IDS 2
static int take_ids(const Field *f, Ids *ids) {
    switch (f->field) {
    case 1: return take_bytes(f, &ids->trace_id, &ids->trace_len);
    case 2: return take_bytes(f, &ids->span_id, &ids->span_len);
    case 3: return take_text(f, &ids->trace_state, &ids->state_len);
    default: return NOT_IDS;
    }
}

/* An event's or link's attributes as key_values_to_dict's JSON (FALLBACK for a repeated key). */
static int nested_attributes_json(State *st, Buf *out) {
    int rc = check_unique_keys(&st->nested);
    return rc != OK ? rc : attributes_json(out, &st->nested);
}

static const char EVALUATION_EVENT[] = "gen_ai.evaluation.result";

/* One Event as span_rows._events_json writes it: {"name":..,"time_unix_nano":..,"attributes":..}.
 * An assessment event goes to Python (it also becomes an assessment row). */
static int event_json(State *st, Buf *out, const uint8_t *p, size_t n) {
    Reader r = {p, p + n};
    Field f;
    int done, rc, ascii;
    uint64_t time = 0;
    const uint8_t *name = (const uint8_t *)"";
    size_t name_len = 0;
    st->nested.len = 0;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) break;
        if (f.field == 1) {
            if (f.wire != 1) return FALLBACK;
            time = f.fixed;
        } else if (f.field == 2) {
            if (f.wire != 2 || !utf8_valid(f.bytes, f.len, &ascii)) return FALLBACK;
            name = f.bytes, name_len = f.len;
        } else if (f.field == 3) {
            if (f.wire != 2) return FALLBACK;
            if ((rc = add_key_value(&st->nested, f.bytes, f.len)) != OK) return rc;
        } else if (f.field != 4 || f.wire != 0) {
            return FALLBACK;
        }
    }
    if (name_len == sizeof EVALUATION_EVENT - 1 && memcmp(name, EVALUATION_EVENT, name_len) == 0)
        return FALLBACK;
    char number[24];
    int digits = snprintf(number, sizeof number, "%llu", (unsigned long long)time);
    if (buf_puts(out, "{\"name\":") < 0) return ERROR;
    if ((rc = json_string(out, name, name_len)) != OK) return rc;
    if (buf_puts(out, ",\"time_unix_nano\":") < 0 || buf_put(out, number, (size_t)digits) < 0 ||
        buf_puts(out, ",\"attributes\":") < 0)
        return ERROR;
    if ((rc = nested_attributes_json(st, out)) != OK) return rc;
    return buf_putc(out, '}') < 0 ? ERROR : OK;
}

/* An id as hex_id writes it in JSON: null when empty or all zeros. */
static int json_id(Buf *out, const uint8_t *id, size_t len) {
    char hex[64];
    if (len > 32) return FALLBACK;
    if (!len || !hex_of(hex, id, len)) return buf_puts(out, "null") < 0 ? ERROR : OK;
    if (buf_putc(out, '"') < 0 || buf_put(out, hex, 2 * len) < 0 || buf_putc(out, '"') < 0) return ERROR;
    return OK;
}

/* One Link as span_rows._links_json writes it. */
static int link_json(State *st, Buf *out, const uint8_t *p, size_t n) {
    Reader r = {p, p + n};
    Field f;
    int done, rc;
    Ids ids = {NULL, NULL, NULL, 0, 0, 0};
    st->nested.len = 0;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) break;
        if ((rc = take_ids(&f, &ids)) != NOT_IDS) {
            if (rc != OK) return rc;
            continue;
        }
        switch (f.field) {
        case 4:
            if (f.wire != 2) return FALLBACK;
            if ((rc = add_key_value(&st->nested, f.bytes, f.len)) != OK) return rc;
            break;
        case 5:
            if (f.wire != 0) return FALLBACK;
            break;
        case 6:
            if (f.wire != 5) return FALLBACK;
            break;
        default:
            return FALLBACK;
        }
    }
    if (buf_puts(out, "{\"trace_id\":") < 0) return ERROR;
    if ((rc = json_id(out, ids.trace_id, ids.trace_len)) != OK) return rc;
    if (buf_puts(out, ",\"span_id\":") < 0) return ERROR;
    if ((rc = json_id(out, ids.span_id, ids.span_len)) != OK) return rc;
    if (buf_puts(out, ",\"trace_state\":") < 0) return ERROR;
    if (ids.state_len) {
        if ((rc = json_string(out, ids.trace_state, ids.state_len)) != OK) return rc;
    } else if (buf_puts(out, "null") < 0) {
        return ERROR;
    }
    if (buf_puts(out, ",\"attributes\":") < 0) return ERROR;
    if ((rc = nested_attributes_json(st, out)) != OK) return rc;
    return buf_putc(out, '}') < 0 ? ERROR : OK;
}

/* Append one event or link to a span's list (`[` before the first; the caller closes it). */
static int list_item(State *st, Buf *list, const uint8_t *p, size_t n,
                     int (*item)(State *, Buf *, const uint8_t *, size_t)) {
    if (buf_putc(list, list->len ? ',' : '[') < 0) return ERROR;
    return item(st, list, p, n);
}

static int parse_span(State *st, const uint8_t *p, size_t n) {
    Reader r = {p, p + n};
    Field f;
    int done;
    const uint8_t *parent = NULL, *name = NULL, *status = NULL;
    size_t parent_len = 0, name_len = 0, status_len = 0;
    Ids ids = {NULL, NULL, NULL, 0, 0, 0};
    uint64_t kind = 0, start = 0, end = 0;
    int statuses = 0, ascii, rc;

    st->attributes.list.len = 0;
    st->events.len = st->links.len = 0;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) break;
        if ((rc = take_ids(&f, &ids)) != NOT_IDS) {
            if (rc != OK) return rc;
            continue;
        }
        switch (f.field) {
        case 4:
            TRY(take_bytes(&f, &parent, &parent_len));
            break;
        case 5:
            TRY(take_text(&f, &name, &name_len));
            break;
        case 6:
            if (f.wire != 0) return FALLBACK;
            kind = f.varint;
            break;
        case 7:
            if (f.wire != 1) return FALLBACK;
            start = f.fixed;
            break;
        case 8:
            if (f.wire != 1) return FALLBACK;
            end = f.fixed;
            break;
        case 9:
            if (f.wire != 2) return FALLBACK;
            TRY(add_key_value(&st->attributes.list, f.bytes, f.len));
            break;
        case 11:
            if (f.wire != 2) return FALLBACK;
            TRY(list_item(st, &st->events, f.bytes, f.len, event_json));
            break;
        case 13:
            if (f.wire != 2) return FALLBACK;
            TRY(list_item(st, &st->links, f.bytes, f.len, link_json));
            break;
        case 15:
            if (f.wire != 2 || statuses++) return FALLBACK;
            status = f.bytes, status_len = f.len;
            break;
        case 10: case 12: case 14:
            if (f.wire != 0) return FALLBACK;
            break;
        case 16:
            if (f.wire != 5) return FALLBACK;
            break;
        default:
            return FALLBACK;
        }
    }
    uint64_t code = 0;
    const uint8_t *message = NULL;
    size_t message_len = 0;
    if (status) {
        Reader sr = {status, status + status_len};
        int codes = 0, messages = 0;
        for (;;) {
            if (next_field(&sr, &f, &done) != OK) return FALLBACK;
            if (done) break;
            if (f.field == 2) {
                if (f.wire != 2 || messages++) return FALLBACK;
                if (!utf8_valid(f.bytes, f.len, &ascii)) return FALLBACK;
                message = f.bytes, message_len = f.len;
            } else if (f.field == 3) {
                if (f.wire != 0 || codes++) return FALLBACK;
                code = f.varint;
            } else {
                return FALLBACK;
            }
        }
    }
    /* hex_id: empty or all zeros is None; a span without both ids is skipped */
    char trace_hex[64], span_hex[32], parent_hex[32];
    size_t trace_len = ids.trace_len, span_len = ids.span_len;
    if (trace_len > 32 || span_len > 16 || parent_len > 16) return FALLBACK;
    if (!trace_len || !hex_of(trace_hex, ids.trace_id, trace_len)) return OK;
    if (!span_len || !hex_of(span_hex, ids.span_id, span_len)) return OK;
    int has_parent = parent_len && hex_of(parent_hex, parent, parent_len);
    if (kind > 5) return FALLBACK;
    if (start > INT64_MAX || end > INT64_MAX) return FALLBACK;
    if (code > 2) return FALLBACK;

    if ((rc = index_attributes(&st->attributes)) != OK) return rc;
    st->json.len = 0;
    if ((rc = attributes_json(&st->json, &st->attributes.list)) != OK) return rc;
    if ((rc = normalize(&st->normalized, &st->attributes, st->resource_experiment,
                        st->resource_service)) != OK)
        return rc;

    /* Everything that can send the request to Python is behind us: claim the key. */
    int is_new;
    if (claim_key(st, trace_hex, 2 * trace_len, span_hex, 2 * span_len, &is_new) != OK) return ERROR;
    if (!is_new) return OK;

    Column *c = st->columns;
    Normalized *nz = &st->normalized;
    if (col_string(&c[C_TRACE_ID], trace_hex, 2 * trace_len) < 0 ||
        col_string(&c[C_SPAN_ID], span_hex, 2 * span_len) < 0 ||
        (has_parent ? col_string(&c[C_PARENT], parent_hex, 2 * parent_len)
                    : col_null(&c[C_PARENT])) < 0 ||
        col_string(&c[C_NAME], (const char *)(name ? name : (const uint8_t *)""), name_len) < 0 ||
        col_string(&c[C_SPAN_TYPE], nz->span_type.set ? nz->span_type.p : "UNKNOWN",
                   nz->span_type.set ? nz->span_type.n : 7) < 0 ||
        col_string(&c[C_SPAN_KIND], SPAN_KINDS[kind], strlen(SPAN_KINDS[kind])) < 0 ||
        col_int(&c[C_START_NS], (int64_t)start) < 0 || col_int(&c[C_END_NS], (int64_t)end) < 0 ||
        (end >= start ? col_double(&c[C_DURATION], (double)(int64_t)(end - start) / 1e6)
                      : col_null(&c[C_DURATION])) < 0 ||
        col_string(&c[C_STATUS_CODE], STATUS_CODES[code], strlen(STATUS_CODES[code])) < 0 ||
        col_string(&c[C_ATTRIBUTES], st->json.data, st->json.len) < 0 ||
        col_string(&c[C_RESOURCE], st->resource_json.data, st->resource_json.len) < 0 ||
        (st->scope_name_len ? col_string(&c[C_SCOPE_NAME], (const char *)st->scope_name, st->scope_name_len)
                            : col_null(&c[C_SCOPE_NAME])) < 0 ||
        (st->scope_version_len ? col_string(&c[C_SCOPE_VERSION], (const char *)st->scope_version,
                                            st->scope_version_len)
                               : col_null(&c[C_SCOPE_VERSION])) < 0) {
        PyErr_NoMemory();
        return ERROR;
    }
    if ((st->events.len && buf_putc(&st->events, ']') < 0) ||
        (st->links.len && buf_putc(&st->links, ']') < 0) ||
        put_bytes_or_null(&c[C_EVENTS], (const uint8_t *)st->events.data, st->events.len) != OK ||
        put_bytes_or_null(&c[C_LINKS], (const uint8_t *)st->links.data, st->links.len) != OK ||
        put_bytes_or_null(&c[C_STATUS_MESSAGE], message, message_len) != OK ||
        put_bytes_or_null(&c[C_TRACE_STATE], ids.trace_state, ids.state_len) != OK ||
        put_text(&c[C_INPUT], &nz->input) != OK || put_text(&c[C_OUTPUT], &nz->output) != OK ||
        put_text(&c[C_MODEL], &nz->model) != OK ||
        put_count(&c[C_INPUT_TOKENS], &nz->input_tokens) != OK ||
        put_count(&c[C_OUTPUT_TOKENS], &nz->output_tokens) != OK ||
        put_count(&c[C_TOTAL_TOKENS], &nz->total_tokens) != OK ||
        put_text(&c[C_SESSION], &nz->session) != OK || put_text(&c[C_USER], &nz->user) != OK ||
        put_text(&c[C_EXPERIMENT], &nz->experiment) != OK) {
        PyErr_NoMemory();
        return ERROR;
    }
    /* service_name: str(resource["service.name"]) when set */
    const Value *service = st->resource_service;
    if (service == NULL || service->kind == V_NONE) {
        if (col_null(&c[C_SERVICE]) < 0) return PyErr_NoMemory(), ERROR;
    } else if (col_string(&c[C_SERVICE], (const char *)service->bytes, service->len) < 0) {
        return PyErr_NoMemory(), ERROR;
    }
    st->rows++;
    return OK;
}

/* `parse` on each `field` of a message, in order (the fields were checked already). */
static int each_message(State *st, const uint8_t *p, size_t n, uint32_t field,
                        int (*parse)(State *, const uint8_t *, size_t)) {
    Reader r = {p, p + n};
    Field f;
    int done, rc;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) return OK;
        if (f.field == field && (rc = parse(st, f.bytes, f.len)) != OK) return rc;
    }
}

static int parse_resource(State *st, const uint8_t *p, size_t n) {
    Reader r = {p, p + n};
    Field f;
    int done, rc;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) break;
        if (f.field == 1) {
            if (f.wire != 2) return FALLBACK;
            if ((rc = add_key_value(&st->resource_attributes.list, f.bytes, f.len)) != OK) return rc;
        } else if (f.field != 2 || f.wire != 0) { /* dropped_attributes_count; else unknown */
            return FALLBACK;
        }
    }
    return OK;
}

static int parse_scope_spans(State *st, const uint8_t *p, size_t n) {
    Reader r = {p, p + n};
    Field f;
    int done, scopes = 0, rc;
    st->scope_name = st->scope_version = NULL;
    st->scope_name_len = st->scope_version_len = 0;
    /* the scope first (it may follow the spans on the wire) */
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) break;
        if (f.field == 1) {
            if (f.wire != 2 || scopes++) return FALLBACK;
            Reader sr = {f.bytes, f.bytes + f.len};
            Field g;
            int names = 0, versions = 0;
            for (;;) {
                if (next_field(&sr, &g, &done) != OK) return FALLBACK;
                if (done) break;
                if (g.field == 3) { /* attributes: not stored, but protobuf checks their text */
                    if (g.wire != 2) return FALLBACK;
                    Attributes unused = {NULL, 0, 0};
                    rc = add_key_value(&unused, g.bytes, g.len);
                    free(unused.items);
                    if (rc != OK) return rc;
                } else if (g.field == 1 || g.field == 2) {
                    int ascii;
                    if (g.wire != 2 || !utf8_valid(g.bytes, g.len, &ascii)) return FALLBACK;
                    if (g.field == 1) {
                        if (names++) return FALLBACK;
                        st->scope_name = g.bytes, st->scope_name_len = g.len;
                    } else {
                        if (versions++) return FALLBACK;
                        st->scope_version = g.bytes, st->scope_version_len = g.len;
                    }
                } else if (g.field != 4 || g.wire != 0) { /* dropped_attributes_count */
                    return FALLBACK;
                }
            }
        } else if ((rc = check_field(&f, 2, 3)) != OK) {
            return rc;
        }
    }
    return each_message(st, p, n, 2, parse_span);
}

static int parse_resource_spans(State *st, const uint8_t *p, size_t n) {
    Reader r = {p, p + n};
    Field f;
    int done, resources = 0, rc;
    st->resource_attributes.list.len = 0;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) break;
        if (f.field == 1) {
            if (f.wire != 2 || resources++) return FALLBACK;
            if ((rc = parse_resource(st, f.bytes, f.len)) != OK) return rc;
        } else if ((rc = check_field(&f, 2, 3)) != OK) {
            return rc;
        }
    }
    /* The resource's JSON (to_json of its dict), its service name and experiment. */
    SpanAttributes *res = &st->resource_attributes;
    memset(res->slots, 0, sizeof res->slots);
    if ((rc = check_unique_keys(&res->list)) != OK) return rc;
    for (size_t i = 0; i < res->list.len; i++) {
        const Attribute *a = &res->list.items[i];
        int k = key_lookup(a->key, a->key_len);
        if (k == K_SERVICE_NAME || k == K_OTEL_FEEDBACK_EXPERIMENT) res->slots[k] = &a->value;
    }
    st->resource_json.len = 0;
    if ((rc = attributes_json(&st->resource_json, &res->list)) != OK) return rc;
    st->resource_experiment = res->slots[K_OTEL_FEEDBACK_EXPERIMENT];
    st->resource_service = res->slots[K_SERVICE_NAME];
    /* service_name is str(value): only text (or None) here */
    if (st->resource_service && st->resource_service->kind != V_NONE &&
        st->resource_service->kind != V_STRING)
        return FALLBACK;
    return each_message(st, p, n, 2, parse_scope_spans);
}

static int parse_request(State *st, const uint8_t *p, size_t n) {
    Reader r = {p, p + n};
    Field f;
    int done, rc;
    for (;;) {
        if (next_field(&r, &f, &done) != OK) return FALLBACK;
        if (done) break;
        if (f.field != 1 || f.wire != 2) return FALLBACK;
        if ((rc = parse_resource_spans(st, f.bytes, f.len)) != OK) return rc;
    }
    return OK;
}

/* ------------------------------------------------------------------ results */

/* A column as (validity bitmap bytes or None, values bytes, data bytes or None, null count). */
static PyObject *column_result(Column *c, Py_ssize_t rows) {
    PyObject *validity;
    if (c->nulls) {
        Py_ssize_t nbytes = (rows + 7) / 8;
        validity = PyBytes_FromStringAndSize(NULL, nbytes);
        if (validity == NULL) return NULL;
        uint8_t *bits = (uint8_t *)PyBytes_AS_STRING(validity);
        memset(bits, 0, (size_t)nbytes);
        for (Py_ssize_t i = 0; i < rows; i++)
            if (c->validity.data[i]) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    } else {
        validity = Py_NewRef(Py_None);
    }
    PyObject *values = PyBytes_FromStringAndSize(c->values.data ? c->values.data : "", (Py_ssize_t)c->values.len);
    PyObject *data = c->kind == STRING
        ? PyBytes_FromStringAndSize(c->data.data ? c->data.data : "", (Py_ssize_t)c->data.len)
        : Py_NewRef(Py_None);
    if (values == NULL || data == NULL) {
        Py_DECREF(validity);
        Py_XDECREF(values);
        Py_XDECREF(data);
        return NULL;
    }
    return Py_BuildValue("(NNNn)", validity, values, data, c->nulls);
}

static void state_free(State *st) {
    for (int i = 0; i < N_COLUMNS; i++) {
        buf_free(&st->columns[i].validity);
        buf_free(&st->columns[i].values);
        buf_free(&st->columns[i].data);
    }
    free(st->attributes.list.items);
    free(st->resource_attributes.list.items);
    Text *texts[] = {&st->normalized.span_type, &st->normalized.input, &st->normalized.output,
                     &st->normalized.model, &st->normalized.session, &st->normalized.user,
                     &st->normalized.experiment};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) buf_free(&texts[i]->scratch);
    buf_free(&st->json);
    buf_free(&st->events);
    buf_free(&st->links);
    free(st->nested.items);
    buf_free(&st->resource_json);
    Py_XDECREF(st->added);
}

/* Undo this call's additions to `seen` (the request goes to Python, which adds them itself). */
static int release_keys(State *st) {
    Py_ssize_t n = PyList_GET_SIZE(st->added);
    for (Py_ssize_t i = 0; i < n; i++)
        if (PySet_Discard(st->seen, PyList_GET_ITEM(st->added, i)) < 0) return ERROR;
    return OK;
}

static PyObject *spans(PyObject *self, PyObject *args) {
    Py_buffer payload;
    PyObject *seen;
    if (!PyArg_ParseTuple(args, "y*O!:spans", &payload, &PySet_Type, &seen)) return NULL;
    State st;
    memset(&st, 0, sizeof st);
    st.seen = seen;
    st.added = PyList_New(0);
    PyObject *result = NULL;
    if (st.added == NULL) goto done;
    for (int i = 0; i < N_COLUMNS; i++) {
        st.columns[i].kind = COLUMN_KINDS[i];
        if (col_start(&st.columns[i]) < 0) {
            PyErr_NoMemory();
            goto done;
        }
    }
    int rc = parse_request(&st, payload.buf, (size_t)payload.len);
    if (rc == ERROR) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        release_keys(&st);
        PyErr_Restore(type, value, traceback);
        goto done;
    }
    if (rc == FALLBACK) {
        if (release_keys(&st) == OK) result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *columns = PyTuple_New(N_COLUMNS);
    for (int i = 0; columns != NULL && i < N_COLUMNS; i++) {
        PyObject *column = column_result(&st.columns[i], st.rows);
        if (column == NULL) {
            Py_CLEAR(columns);
            break;
        }
        PyTuple_SET_ITEM(columns, i, column);
    }
    if (columns != NULL) result = Py_BuildValue("(nN)", st.rows, columns);
    if (result == NULL) { /* out of memory: the caller gets the error, and `seen` as it was */
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        release_keys(&st);
        PyErr_Restore(type, value, traceback);
    }
done:
    state_free(&st);
    PyBuffer_Release(&payload);
    return result;
}

static PyMethodDef methods[] = {
    {"spans", spans, METH_VARARGS,
     "spans(payload, seen) -> (rows, columns) | None\n\n"
     "The spans of a serialized ExportTraceServiceRequest as Arrow buffers of span_rows'\n"
     "NATIVE_COLUMNS, or None when Python must convert the request. New (trace_id, span_id)\n"
     "keys are added to `seen`; spans whose key is in it already are left out."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_otlp_rows",
    "OTLP trace requests straight into span columns (the ingest fast path).", -1, methods,
};

PyMODINIT_FUNC PyInit__otlp_rows(void) {
    uint16_t probe = 1;
    if (*(uint8_t *)&probe != 1) {
        PyErr_SetString(PyExc_ImportError, "_otlp_rows reads fixed64 fields as little-endian");
        return NULL;
    }
    key_table_init();
    return PyModule_Create(&module);
}
