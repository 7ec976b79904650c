/* contivpy's CNI plugin, compiled: the kubelet's ADD, DEL and CHECK without starting Python.
 *
 * In: the CNI environment (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS) and
 * the network configuration JSON on stdin, as for `contivpy cni` (contivpy/cni/plugin.py).
 * Out: the same stdout and exit code as `contivpy cni` gives for the same input and agent.
 *
 * Why: the kubelet execs the plugin once per pod, and a Python plugin spends ~10 ms of CPU
 * starting its interpreter before it sends anything; ten pods started at once on a 2-core
 * node queue behind each other for that (docs/PERFORMANCE.md, `cni_exec_*`). This program
 * needs no interpreter on the node either.
 *
 * What it does itself is the well-formed call: a command of ADD, DEL or CHECK, a network
 * configuration that is a JSON object whose own keys (cniVersion, prevResult, grpcServer,
 * timeoutSeconds, simulatedNetns) have the values plugin.py accepts, the CNI variables
 * plugin.py requires, all of it ASCII, and an agent that accepts the connection. It then makes
 * the RemoteCNI call (HTTP/2 with prior knowledge, one stream, as contivpy/cni/grpc_unary.py)
 * and prints the result or the agent's error as plugin.py prints them (JSON with sorted keys,
 * ", " and ": " separators, non-ASCII escaped: Python's json.dumps with sort_keys).
 *
 * VERSION it answers itself. Everything else (a bad or unusual input, an agent that cannot
 * be reached) is handed to the Python plugin, so that its checks and messages stay in one place: this
 * program execs "<its own path>.pyz" (the zip application `contivpy install-cni` writes
 * beside it) with the same environment and the same stdin. Nothing was sent to the agent
 * then, so the Python plugin's call is the only one.
 *
 * tests/cni/test_native_plugin.py runs both plugins on the same inputs and agents and
 * compares their output byte for byte. Known differences, all from a peer that is not the
 * contivpy agent (whose server, cni/grpc_serve.py, sends no Huffman, no NUL and only
 * numeric statuses): a malformed header block is named generically, Huffman-coded strings
 * are refused, text after a NUL byte in a header or error message is dropped, and a
 * grpc-status or varint beyond 64 bits is read as C reads it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/contivpy/cni.sock"
#define DEFAULT_TIMEOUT 60.0
#define DEFAULT_FRAME_SIZE 16384u
#define DEFAULT_WINDOW 65535u
#define RECEIVE_WINDOW (16u * 1024u * 1024u)
#define MAX_MESSAGE (4u * 1024u * 1024u)
#define HEADER_TABLE_SIZE 4096u
#define MAX_DEPTH 64

/* CNI codes (contivpy/cni/errors.py) */
enum { IO_FAILURE = 5, DECODE_FAILURE = 6, TRY_AGAIN_LATER = 11, WIRING_FAILED = 101 };
/* HTTP/2 frame types and flags (RFC 9113 section 6) */
enum { DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE,
       CONTINUATION };
enum { END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8, PRIORITY_FLAG = 0x20 };

static const char *const SUPPORTED_VERSIONS[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
static const char *const ERROR_NAMES[] = {
    "NO_ERROR",       "PROTOCOL_ERROR",    "INTERNAL_ERROR",    "FLOW_CONTROL_ERROR",
    "SETTINGS_TIMEOUT", "STREAM_CLOSED",   "FRAME_SIZE_ERROR",  "REFUSED_STREAM",
    "CANCEL",         "COMPRESSION_ERROR", "CONNECT_ERROR",     "ENHANCE_YOUR_CALM",
    "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
static const char *const STATUS_NAMES[] = {
    "OK",        "CANCELLED",         "UNKNOWN",         "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",    "UNIMPLEMENTED",      "INTERNAL",
    "UNAVAILABLE", "DATA_LOSS",       "UNAUTHENTICATED"};
/* HPACK's static table (RFC 7541 appendix A), 1-based */
static const char *const STATIC_TABLE[][2] = {
    {"", ""}, {":authority", ""}, {":method", "GET"}, {":method", "POST"}, {":path", "/"},
    {":path", "/index.html"}, {":scheme", "http"}, {":scheme", "https"}, {":status", "200"},
    {":status", "204"}, {":status", "206"}, {":status", "304"}, {":status", "400"},
    {":status", "404"}, {":status", "500"}, {"accept-charset", ""},
    {"accept-encoding", "gzip, deflate"}, {"accept-language", ""}, {"accept-ranges", ""},
    {"accept", ""}, {"access-control-allow-origin", ""}, {"age", ""}, {"allow", ""},
    {"authorization", ""}, {"cache-control", ""}, {"content-disposition", ""},
    {"content-encoding", ""}, {"content-language", ""}, {"content-length", ""},
    {"content-location", ""}, {"content-range", ""}, {"content-type", ""}, {"cookie", ""},
    {"date", ""}, {"etag", ""}, {"expect", ""}, {"expires", ""}, {"from", ""}, {"host", ""},
    {"if-match", ""}, {"if-modified-since", ""}, {"if-none-match", ""}, {"if-range", ""},
    {"if-unmodified-since", ""}, {"last-modified", ""}, {"link", ""}, {"location", ""},
    {"max-forwards", ""}, {"proxy-authenticate", ""}, {"proxy-authorization", ""},
    {"range", ""}, {"referer", ""}, {"refresh", ""}, {"retry-after", ""}, {"server", ""},
    {"set-cookie", ""}, {"strict-transport-security", ""}, {"transfer-encoding", ""},
    {"user-agent", ""}, {"vary", ""}, {"via", ""}, {"www-authenticate", ""}};
#define STATIC_ENTRIES 61u

/* ---- growing byte buffers ---- */

struct buf {
    unsigned char *p;
    size_t n, cap;
};

static void reserve(struct buf *b, size_t more) {
    if (b->n + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more) cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (p == NULL) abort(); /* out of memory: nothing sensible to print */
    b->p = p;
    b->cap = cap;
}

static void put(struct buf *b, const void *data, size_t n) {
    reserve(b, n);
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_str(struct buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_byte(struct buf *b, unsigned char c) { put(b, &c, 1); }

static void put_fmt(struct buf *b, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int n = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (n < 0) return;
    reserve(b, (size_t)n + 1);
    va_start(args, format);
    vsnprintf((char *)b->p + b->n, (size_t)n + 1, format, args);
    va_end(args);
    b->n += (size_t)n;
}

/* Write all of it; 0 when the file refuses some (its end gone: nothing more to do). */
static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

/* ---- the call's state, set up by main ---- */

static struct buf input;             /* stdin, as read */
static const char *command;          /* CNI_COMMAND: ADD, DEL or CHECK */
static char version[16] = "1.0.0";   /* the configuration's cniVersion */
static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)] = DEFAULT_SOCKET;
static double timeout_seconds = DEFAULT_TIMEOUT;

/* ---- handing over to the Python plugin ---- */

static void emit_error(unsigned long long code, const char *msg, const char *details);

/* Exec "<this program>.pyz" with the same environment and stdin (replayed from memory). */
static _Noreturn void delegate(void) {
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 5);
    if (n > 0) {
        memcpy(path + n, ".pyz", 5);
        int fd = memfd_create("cni-stdin", 0);
        if (fd >= 0) {
            if (write_all(fd, input.p, input.n) && lseek(fd, 0, SEEK_SET) == 0 &&
                dup2(fd, 0) == 0) {
                close(fd);
                char *argv[] = {path, NULL};
                execv(path, argv);
            }
        }
    } else {
        strcpy(path, "<this program>.pyz");
    }
    struct buf details = {0};
    put_fmt(&details, "%s: %s", path, strerror(errno));
    put_byte(&details, 0);
    emit_error(IO_FAILURE, "the contivpy plugin cannot run its Python form", (char *)details.p);
    exit(1);
}

/* ---- JSON: checking the configuration, finding its own keys ---- */

struct span {
    size_t start, end; /* the value's text, quotes included for a string */
    char kind;         /* 's' string, 'S' string with escapes, 'n' number, 't' 'f' 'z' (null),
                          'o' object, 'a' array; 0 when absent */
};

enum { K_VERSION, K_PREV, K_SERVER, K_TIMEOUT, K_SIMULATED, K_COUNT };
static const char *const OWN_KEYS[K_COUNT] = {"cniVersion", "prevResult", "grpcServer",
                                              "timeoutSeconds", "simulatedNetns"};

struct json {
    const unsigned char *s;
    size_t n, i;
};

static void ws(struct json *j) {
    while (j->i < j->n && strchr(" \t\n\r", j->s[j->i]) && j->s[j->i]) j->i++;
}

/* A JSON string at j->i; 1 when it has escapes, 0 when not, -1 when invalid or not ASCII. */
static int string(struct json *j) {
    int escaped = 0;
    if (j->i >= j->n || j->s[j->i] != '"') return -1;
    for (j->i++; j->i < j->n; j->i++) {
        unsigned char c = j->s[j->i];
        if (c == '"') {
            j->i++;
            return escaped;
        }
        if (c < 0x20 || c >= 0x80) return -1;
        if (c == '\\') {
            escaped = 1;
            if (++j->i >= j->n) return -1;
            c = j->s[j->i];
            if (c == 'u') {
                if (j->i + 4 >= j->n) return -1;
                for (int k = 1; k <= 4; k++)
                    if (!strchr("0123456789abcdefABCDEF", j->s[j->i + k]) || !j->s[j->i + k])
                        return -1;
                j->i += 4;
            } else if (!strchr("\"\\/bfnrt", c) || !c) {
                return -1;
            }
        }
    }
    return -1;
}

static int digits(struct json *j) {
    size_t start = j->i;
    while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') j->i++;
    return j->i > start ? 0 : -1;
}

static int number(struct json *j) {
    if (j->i < j->n && j->s[j->i] == '-') j->i++;
    size_t start = j->i;
    int integer = 1;
    if (j->i < j->n && j->s[j->i] == '0') {
        j->i++;
    } else if (digits(j)) {
        return -1;
    }
    size_t int_digits = j->i - start;
    if (j->i < j->n && j->s[j->i] == '.') {
        integer = 0;
        j->i++;
        if (digits(j)) return -1;
    }
    if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
        integer = 0;
        j->i++;
        if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-')) j->i++;
        if (digits(j)) return -1;
    }
    /* Python reads an integer of more digits than its int_max_str_digits (4300 unless
     * PYTHONINTMAXSTRDIGITS says, 640 at the least) as no JSON at all: Python decides */
    if (integer && int_digits > 640) return -1;
    return 0;
}

static int literal(struct json *j, const char *word) {
    size_t n = strlen(word);
    if (j->n - j->i < n || memcmp(j->s + j->i, word, n)) return -1;
    j->i += n;
    return 0;
}

/* Record a member of the configuration under its key when it is one of ours; -1 when the
 * key comes twice (Python takes the last: it decides). */
static int own_member(struct span own[K_COUNT], const unsigned char *key, size_t len,
                      struct span member) {
    for (int k = 0; k < K_COUNT; k++) {
        if (strlen(OWN_KEYS[k]) == len && !memcmp(key, OWN_KEYS[k], len)) {
            if (own[k].kind) return -1;
            own[k] = member;
        }
    }
    return 0;
}

/* One JSON value at j->i (NaN and Infinity, which Python reads, count as invalid here).
 * With `own`, the value is the configuration: its members under our keys are recorded. */
static int value(struct json *j, int depth, struct span *out, struct span own[K_COUNT]) {
    if (depth > MAX_DEPTH) return -1;
    ws(j);
    if (j->i >= j->n) return -1;
    struct span found = {j->i, 0, 0};
    unsigned char c = j->s[j->i];
    int ok = 0;
    if (c == '"') {
        int escaped = string(j);
        ok = escaped < 0 ? -1 : 0;
        found.kind = escaped ? 'S' : 's';
    } else if (c == '{' || c == '[') {
        unsigned char close = c == '{' ? '}' : ']';
        found.kind = c == '{' ? 'o' : 'a';
        j->i++;
        ws(j);
        if (j->i < j->n && j->s[j->i] == close) {
            j->i++;
        } else {
            for (;;) {
                size_t key = 0, key_len = 0;
                if (c == '{') {
                    ws(j);
                    key = j->i;
                    int escaped = string(j);
                    /* an escaped key of the configuration may spell one of ours: Python decides */
                    if (escaped < 0 || (own != NULL && escaped)) return -1;
                    key_len = j->i - key - 2;
                    ws(j);
                    if (j->i >= j->n || j->s[j->i] != ':') return -1;
                    j->i++;
                }
                struct span member;
                if (value(j, depth + 1, &member, NULL)) return -1;
                if (own != NULL && c == '{' && own_member(own, j->s + key + 1, key_len, member))
                    return -1;
                ws(j);
                if (j->i >= j->n) return -1;
                if (j->s[j->i] == close) {
                    j->i++;
                    break;
                }
                if (j->s[j->i] != ',') return -1;
                j->i++;
            }
        }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        ok = number(j);
        found.kind = 'n';
    } else if (c == 't') {
        ok = literal(j, "true");
        found.kind = 't';
    } else if (c == 'f') {
        ok = literal(j, "false");
        found.kind = 'f';
    } else if (c == 'n') {
        ok = literal(j, "null");
        found.kind = 'z';
    } else {
        return -1;
    }
    found.end = j->i;
    if (out != NULL) *out = found;
    return ok;
}

/* The configuration's own keys; -1 when it is not a JSON object, or not plainly one. */
static int read_config(struct span own[K_COUNT]) {
    struct json j = {input.p, input.n, 0};
    ws(&j);
    if (j.i >= j.n || j.s[j.i] != '{') return -1;
    if (value(&j, 0, NULL, own)) return -1;
    ws(&j);
    return j.i == j.n ? 0 : -1;
}

/* A plain string value's text into dest; -1 when it does not fit. */
static int span_text(const struct span *s, char *dest, size_t size) {
    size_t n = s->end - s->start - 2;
    if (n + 1 > size) return -1;
    memcpy(dest, input.p + s->start + 1, n);
    dest[n] = 0;
    return 0;
}

/* The configuration as plugin.py accepts it; -1 for anything it would refuse or ask about. */
static int check_config(int *simulated) {
    struct span own[K_COUNT] = {{0, 0, 0}};
    if (read_config(own)) return -1;
    if (own[K_VERSION].kind) {
        if (own[K_VERSION].kind != 's' || span_text(&own[K_VERSION], version, sizeof version))
            return -1;
    }
    int supported = 0;
    for (size_t k = 0; k < sizeof SUPPORTED_VERSIONS / sizeof *SUPPORTED_VERSIONS; k++)
        supported |= !strcmp(version, SUPPORTED_VERSIONS[k]);
    if (!supported) return -1;
    if (own[K_PREV].kind && !strcmp(command, "ADD")) return -1;
    if (own[K_SERVER].kind && own[K_SERVER].kind != 'z') {
        if (own[K_SERVER].kind != 's' ||
            span_text(&own[K_SERVER], socket_path, sizeof socket_path) || !socket_path[0])
            return -1;
    }
    if (own[K_TIMEOUT].kind) {
        if (own[K_TIMEOUT].kind != 'n') return -1;
        char text[64];
        size_t n = own[K_TIMEOUT].end - own[K_TIMEOUT].start;
        if (n >= sizeof text) return -1;
        memcpy(text, input.p + own[K_TIMEOUT].start, n);
        text[n] = 0;
        timeout_seconds = strtod(text, NULL);
        if (!(timeout_seconds > 0) || !isfinite(timeout_seconds)) return -1;
        /* Python's socket timeout holds up to 2**63 ns (~9.22e9 s); past it its plugin
         * fails (OverflowError): Python says so */
        if (timeout_seconds >= 9.2e9) return -1;
    }
    *simulated = own[K_SIMULATED].kind == 't';
    if (own[K_SIMULATED].kind && own[K_SIMULATED].kind != 't' && own[K_SIMULATED].kind != 'f')
        return -1;
    return 0;
}

/* ---- the CNI environment ---- */

static int ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

/* Python's str.strip() whitespace, in ASCII */
static int space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

/* CNI_ARGS names the pod (errors.pod_of_args); 0 when it does. */
static int check_args(const char *args) {
    int name = 0, namespace = 0;
    const char *part = args;
    for (;;) {
        const char *end = strchr(part, ';');
        size_t len = end ? (size_t)(end - part) : strlen(part);
        size_t a = 0, b = len;
        while (a < b && space(part[a])) a++;
        if (a < b) {
            const char *eq = memchr(part, '=', len);
            if (eq == NULL) return -1;
            size_t k0 = 0, k1 = (size_t)(eq - part);
            while (k0 < k1 && space(part[k0])) k0++;
            while (k1 > k0 && space(part[k1 - 1])) k1--;
            if (k0 == k1) return -1;
            size_t v0 = (size_t)(eq - part) + 1, v1 = len;
            while (v0 < v1 && space(part[v0])) v0++;
            while (v1 > v0 && space(part[v1 - 1])) v1--;
            int nonempty = v1 > v0;
            if (k1 - k0 == 12 && !memcmp(part + k0, "K8S_POD_NAME", 12)) name = nonempty;
            if (k1 - k0 == 17 && !memcmp(part + k0, "K8S_POD_NAMESPACE", 17)) namespace = nonempty;
        }
        if (end == NULL) break;
        part = end + 1;
    }
    return name && namespace ? 0 : -1;
}

/* ---- JSON output, as Python's json.dumps writes it ---- */

/* The code point of the UTF-8 sequence at s[*i]; -1 when it is not valid UTF-8. */
static long utf8_next(const unsigned char *s, size_t n, size_t *i) {
    unsigned char c = s[*i];
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    int more = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xc2 && c < 0xe0 ? 1 : -1;
    if (more < 0 || *i + (size_t)more >= n) return -1;
    long cp = c & (0x3f >> more);
    for (int k = 1; k <= more; k++) {
        unsigned char d = s[*i + (size_t)k];
        if ((d & 0xc0) != 0x80) return -1;
        cp = cp << 6 | (d & 0x3f);
    }
    static const long least[] = {0, 0x80, 0x800, 0x10000};
    if (cp < least[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    *i += (size_t)more + 1;
    return cp;
}

/* Where s[i] starts no valid UTF-8: why, in Python's decoder's words, and in *len the bytes
 * its error names (the maximal subpart: what its "replace" makes one U+FFFD of). */
static const char *utf8_error(const unsigned char *s, size_t n, size_t i, size_t *len) {
    unsigned char c = s[i];
    int more = c >= 0xc2 && c <= 0xdf   ? 1
               : c >= 0xe0 && c <= 0xef ? 2
               : c >= 0xf0 && c <= 0xf4 ? 3
                                        : 0;
    unsigned char low = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned char high = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    *len = 1;
    if (!more) return "invalid start byte";
    for (int k = 1; k <= more; k++, low = 0x80, high = 0xbf) {
        *len = (size_t)k;
        if (i + (size_t)k >= n) return "unexpected end of data";
        unsigned char d = s[i + (size_t)k];
        if (d < low || d > high) return "invalid continuation byte";
    }
    return "invalid start byte"; /* valid after all: not reached */
}

/* As JSON; bytes that are no UTF-8 as Python's "replace" decodes them (GOAWAY's debug data,
 * grpc-message), one U+FFFD a maximal subpart. */
static void put_json_string(struct buf *b, const unsigned char *s, size_t n) {
    put_byte(b, '"');
    for (size_t i = 0; i < n;) {
        long cp = utf8_next(s, n, &i);
        if (cp < 0) {
            size_t bad;
            utf8_error(s, n, i, &bad);
            i += bad;
            cp = 0xfffd;
        }
        switch (cp) {
        case '"': put_str(b, "\\\""); break;
        case '\\': put_str(b, "\\\\"); break;
        case '\n': put_str(b, "\\n"); break;
        case '\r': put_str(b, "\\r"); break;
        case '\t': put_str(b, "\\t"); break;
        case '\b': put_str(b, "\\b"); break;
        case '\f': put_str(b, "\\f"); break;
        default:
            if (cp < 0x20 || (cp >= 0x80 && cp < 0x10000)) {
                put_fmt(b, "\\u%04lx", cp);
            } else if (cp >= 0x10000) {
                cp -= 0x10000;
                put_fmt(b, "\\u%04lx\\u%04lx", 0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
            } else {
                put_byte(b, (unsigned char)cp);
            }
        }
    }
    put_byte(b, '"');
}

static void put_json_cstr(struct buf *b, const char *s) {
    put_json_string(b, (const unsigned char *)s, strlen(s));
}

static void write_out(struct buf *b) {
    put_byte(b, '\n');
    write_all(1, b->p, b->n);
}

static void emit_error(unsigned long long code, const char *msg, const char *details) {
    struct buf out = {0};
    put_str(&out, "{\"cniVersion\": ");
    put_json_cstr(&out, version);
    put_fmt(&out, ", \"code\": %llu, \"details\": ", code);
    put_json_cstr(&out, details);
    put_str(&out, ", \"msg\": ");
    put_json_cstr(&out, msg);
    put_byte(&out, '}');
    write_out(&out);
}

/* Python's repr of a float (the timeout in messages): the shortest digits that read back,
 * positional for decimal exponents -4 to 15, else in exponent form ("1e-05", "1e+16"). */
static void float_repr(double x, struct buf *out) {
    char text[40], digits[24];
    int precision;
    for (precision = 0; precision < 17; precision++) {
        snprintf(text, sizeof text, "%.*e", precision, x);
        if (strtod(text, NULL) == x) break;
    }
    int n = 0;
    for (const char *c = text; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9' && n < (int)sizeof digits - 1) digits[n++] = *c;
    while (n > 1 && digits[n - 1] == '0') n--;
    int exponent = atoi(strchr(text, 'e') + 1);
    if (x < 0) put_byte(out, '-');
    if (exponent < -4 || exponent >= 16) {
        put_byte(out, (unsigned char)digits[0]);
        if (n > 1) {
            put_byte(out, '.');
            put(out, digits + 1, (size_t)n - 1);
        }
        put_fmt(out, "e%c%02d", exponent < 0 ? '-' : '+', abs(exponent));
    } else if (exponent < 0) {
        put_str(out, "0.");
        for (int k = 0; k < -exponent - 1; k++) put_byte(out, '0');
        put(out, digits, (size_t)n);
    } else {
        for (int k = 0; k <= exponent; k++) put_byte(out, k < n ? (unsigned char)digits[k] : '0');
        put_byte(out, '.');
        if (n > exponent + 1)
            put(out, digits + exponent + 1, (size_t)(n - exponent - 1));
        else
            put_byte(out, '0');
    }
}

/* ---- the call's failures, as contivpy/cni/client.py names them ---- */

static _Noreturn void fail(unsigned long long code, const char *msg, const char *details) {
    emit_error(code, msg, details);
    exit(1);
}

static _Noreturn void deadline_exceeded(void) {
    struct buf msg = {0};
    put_fmt(&msg, "the contivpy agent at %s did not answer in ", socket_path);
    float_repr(timeout_seconds, &msg);
    put_str(&msg, "s");
    put_byte(&msg, 0);
    fail(TRY_AGAIN_LATER, (char *)msg.p, "");
}

static _Noreturn void connection_lost(const char *how) {
    char msg[64];
    snprintf(msg, sizeof msg, "agent connection lost during %s", command);
    struct buf details = {0}; /* grown: `how` may carry a GOAWAY's debug data, 16 KiB */
    put_fmt(&details,
            "the contivpy agent at %s closed the connection before it answered (restarted or "
            "killed?): %s; retry once it is back",
            socket_path, how);
    put_byte(&details, 0);
    fail(TRY_AGAIN_LATER, msg, (char *)details.p);
}

/* A send or receive failed: errno says how (reset, broken pipe: the agent went away). */
static _Noreturn void connection_failed(void) {
    char how[256];
    snprintf(how, sizeof how, "the connection failed: %s", strerror(errno));
    connection_lost(how);
}

static _Noreturn void bad_reply(const char *what) {
    struct buf msg = {0};
    put_fmt(&msg, "the contivpy agent at %s gave a bad reply: %s", socket_path, what);
    put_byte(&msg, 0);
    fail(WIRING_FAILED, (char *)msg.p, "");
}

static _Noreturn void decode_failure(const char *what) { fail(DECODE_FAILURE, what, ""); }

/* ---- HPACK (RFC 7541): encoding our request's headers, decoding the agent's ---- */

static void hpack_integer(struct buf *b, size_t value, int prefix, unsigned char flags) {
    size_t mask = ((size_t)1 << prefix) - 1;
    if (value < mask) {
        put_byte(b, (unsigned char)(flags | value));
        return;
    }
    put_byte(b, (unsigned char)(flags | mask));
    for (value -= mask; value >= 0x80; value >>= 7) put_byte(b, (unsigned char)((value & 0x7f) | 0x80));
    put_byte(b, (unsigned char)value);
}

static void hpack_string(struct buf *b, const char *s) {
    hpack_integer(b, strlen(s), 7, 0);
    put_str(b, s);
}

/* A header without indexing: by its static name index, or with its name. */
static void hpack_literal(struct buf *b, size_t name_index, const char *name, const char *value) {
    hpack_integer(b, name_index, 4, 0);
    if (!name_index) hpack_string(b, name);
    hpack_string(b, value);
}

struct entry {
    char *name, *value;
};

static struct {
    struct entry *entries; /* the newest last */
    size_t count, size, max;
} table = {NULL, 0, 0, HEADER_TABLE_SIZE};

/* The headers that matter, by the last value a block gave them */
struct headers {
    int seen;
    char status[8];
    struct buf content_type, grpc_status, grpc_message;
    int has_grpc_status;
};

static void table_evict(size_t room) {
    while (table.count && table.size + room > table.max) {
        struct entry *e = &table.entries[0];
        table.size -= strlen(e->name) + strlen(e->value) + 32;
        free(e->name);
        free(e->value);
        memmove(table.entries, table.entries + 1, --table.count * sizeof *table.entries);
    }
}

static void table_add(const char *name, const char *value) {
    size_t size = strlen(name) + strlen(value) + 32;
    /* copied before evicting: a literal may name the very entry its addition evicts */
    char *own_name = strdup(name), *own_value = strdup(value);
    if (own_name == NULL || own_value == NULL) abort();
    table_evict(size);
    if (size > table.max) { /* larger than the table: it only empties it */
        free(own_name);
        free(own_value);
        return;
    }
    struct entry *grown = realloc(table.entries, (table.count + 1) * sizeof *grown);
    if (grown == NULL) abort();
    table.entries = grown;
    table.entries[table.count].name = own_name;
    table.entries[table.count].value = own_value;
    table.count++;
    table.size += size;
}

struct reader {
    const unsigned char *p;
    size_t n, i;
};

static int read_integer(struct reader *r, int prefix, size_t *out) {
    if (r->i >= r->n) return -1;
    size_t mask = ((size_t)1 << prefix) - 1, value = r->p[r->i++] & mask;
    if (value < mask) {
        *out = value;
        return 0;
    }
    for (int shift = 0; shift < 28; shift += 7) {
        if (r->i >= r->n) return -1;
        unsigned char c = r->p[r->i++];
        value += (size_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = value;
            return 0;
        }
    }
    return -1;
}

/* A string literal; a Huffman-coded one is refused: the agent's encoder never sends one. */
static int read_string(struct reader *r, char **out, const char **why) {
    if (r->i >= r->n) return -1;
    int huffman = r->p[r->i] & 0x80;
    size_t len;
    if (read_integer(r, 7, &len) || len > r->n - r->i) return -1;
    if (huffman) {
        *why = "a Huffman-coded string (the contivpy agent sends none)";
        return -1;
    }
    *out = malloc(len + 1);
    if (*out == NULL) abort();
    memcpy(*out, r->p + r->i, len);
    (*out)[len] = 0;
    r->i += len;
    return 0;
}

static int lookup(size_t index, const char **name, const char **value) {
    if (index >= 1 && index <= STATIC_ENTRIES) {
        *name = STATIC_TABLE[index][0];
        *value = STATIC_TABLE[index][1];
        return 0;
    }
    if (index > STATIC_ENTRIES && index - STATIC_ENTRIES <= table.count) {
        struct entry *e = &table.entries[table.count - (index - STATIC_ENTRIES)];
        *name = e->name;
        *value = e->value;
        return 0;
    }
    return -1;
}

static void set_header(struct headers *h, const char *name, const char *value) {
    if (!strcmp(name, ":status")) {
        snprintf(h->status, sizeof h->status, "%s", value);
    } else if (!strcmp(name, "content-type")) {
        h->content_type.n = 0;
        put_str(&h->content_type, value);
    } else if (!strcmp(name, "grpc-status")) {
        h->grpc_status.n = 0;
        put_str(&h->grpc_status, value);
        h->has_grpc_status = 1;
    } else if (!strcmp(name, "grpc-message")) {
        h->grpc_message.n = 0;
        put_str(&h->grpc_message, value);
    }
}

static void decode_block(const unsigned char *p, size_t n, struct headers *h) {
    struct reader r = {p, n, 0};
    const char *why = "a truncated or malformed header block";
    while (r.i < r.n) {
        unsigned char c = r.p[r.i];
        size_t index;
        const char *name, *value;
        char *own_name = NULL, *own_value = NULL;
        if (c & 0x80) { /* indexed */
            if (read_integer(&r, 7, &index) || lookup(index, &name, &value)) goto bad;
            if (h) set_header(h, name, value);
            continue;
        }
        if ((c & 0xe0) == 0x20) { /* dynamic table size update */
            if (read_integer(&r, 5, &index) || index > HEADER_TABLE_SIZE) goto bad;
            table.max = index;
            table_evict(0);
            continue;
        }
        int indexing = (c & 0xc0) == 0x40;
        if (read_integer(&r, indexing ? 6 : 4, &index)) goto bad;
        if (index) {
            const char *ignored;
            if (lookup(index, &name, &ignored)) goto bad;
        } else {
            if (read_string(&r, &own_name, &why)) goto bad;
            name = own_name;
        }
        if (read_string(&r, &own_value, &why)) goto bad;
        value = own_value;
        if (h) set_header(h, name, value);
        if (indexing) table_add(name, value);
        free(own_name);
        free(own_value);
        continue;
    bad:
        free(own_name);
        {
            struct buf msg = {0};
            put_fmt(&msg, "a bad header block: %s", why);
            put_byte(&msg, 0);
            bad_reply((char *)msg.p);
        }
    }
}

/* ---- protobuf: the CNIRequest we send, the CNIReply we read (contivpy/cni/wire.py) ---- */

static void pb_varint(struct buf *b, uint64_t value) {
    for (; value > 0x7f; value >>= 7) put_byte(b, (unsigned char)((value & 0x7f) | 0x80));
    put_byte(b, (unsigned char)value);
}

static void pb_bytes(struct buf *b, unsigned number, const void *data, size_t n) {
    if (!n) return; /* proto3: an empty string is the default and is not sent */
    pb_varint(b, (uint64_t)number << 3 | 2);
    pb_varint(b, n);
    put(b, data, n);
}

struct field {
    unsigned number;
    int is_bytes;
    uint64_t varint;
    const unsigned char *data;
    size_t len;
};

static uint64_t pb_read_varint(struct reader *r) {
    uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
        if (r->i >= r->n) decode_failure("a truncated varint in a RemoteCNI message");
        unsigned char c = r->p[r->i++];
        if (shift < 64) value |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return value;
    }
}

/* The next field of a message; 0 at its end, 1 for a field; a truncated one is a failure. */
static int pb_next(struct reader *r, struct field *f) {
    for (;;) {
        if (r->i >= r->n) return 0;
        uint64_t key = pb_read_varint(r), value = 0;
        unsigned type = (unsigned)(key & 7);
        f->number = (unsigned)(key >> 3);
        if (type == 0 || type == 2) value = pb_read_varint(r);
        if (type == 0) {
            f->is_bytes = 0;
            f->varint = value;
            return 1;
        }
        if (type == 2) {
            if (value > r->n - r->i) decode_failure("a truncated RemoteCNI message");
            f->is_bytes = 1;
            f->data = r->p + r->i;
            f->len = (size_t)value;
            r->i += (size_t)value;
            return 1;
        }
        if (type == 1 || type == 5) {
            r->i += type == 1 ? 8 : 4;
            continue;
        }
        char msg[64];
        snprintf(msg, sizeof msg, "wire type %u in a RemoteCNI message", type);
        decode_failure(msg);
    }
}

/* A string field's text: checked to be UTF-8 (proto3 strings are), else a decode failure. */
static void pb_text(const struct field *f) {
    for (size_t i = 0; i < f->len;) {
        size_t at = i, bad;
        if (utf8_next(f->data, f->len, &i) < 0) {
            const char *why = utf8_error(f->data, f->len, at, &bad);
            char msg[160];
            if (bad == 1)
                snprintf(msg, sizeof msg,
                         "a string field is not UTF-8: 'utf-8' codec can't decode byte 0x%02x in "
                         "position %zu: %s",
                         f->data[at], at, why);
            else
                snprintf(msg, sizeof msg,
                         "a string field is not UTF-8: 'utf-8' codec can't decode bytes in "
                         "position %zu-%zu: %s",
                         at, at + bad - 1, why);
            decode_failure(msg);
        }
    }
}

struct text {
    const unsigned char *p;
    size_t n;
};

/* Each string subfield 1..3 of a flat message (the last of each wins, as in wire.py). */
static void pb_strings(const unsigned char *p, size_t n, struct text out[4]) {
    struct reader r = {p, n, 0};
    struct field f;
    while (pb_next(&r, &f)) {
        if (!f.is_bytes) continue;
        pb_text(&f);
        if (f.number >= 1 && f.number <= 3) out[f.number] = (struct text){f.data, f.len};
    }
}

static void put_text(struct buf *b, struct text t) { put_json_string(b, t.p, t.n); }

/* ', "key": "text"' when there is text: the result leaves out what is empty (plugin.py) */
static void put_optional(struct buf *b, const char *key, struct text t) {
    if (!t.n) return;
    put_fmt(b, ", \"%s\": ", key);
    put_text(b, t);
}

/* The result of an ADD's reply, as plugin.format_result gives it. */
static void print_result(const unsigned char *p, size_t n) {
    struct buf interfaces = {0}, ips = {0}, routes = {0};
    uint64_t result = 0, error_code = 0;
    struct text error = {NULL, 0};
    size_t index = 0;
    int old = !strncmp(version, "0.3", 3) || !strcmp(version, "0.4.0");
    struct reader r = {p, n, 0};
    struct field f;
    while (pb_next(&r, &f)) {
        if (f.number == 1 && !f.is_bytes) {
            result = f.varint;
        } else if (f.number == 2 && f.is_bytes) {
            pb_text(&f);
            error = (struct text){f.data, f.len};
        } else if (f.number == 3 && f.is_bytes) {
            struct text own[4] = {{NULL, 0}};
            struct reader ir = {f.data, f.len, 0};
            struct field g;
            while (pb_next(&ir, &g)) {
                if (!g.is_bytes) continue;
                if (g.number == 4) {
                    struct text ip[4] = {{NULL, 0}};
                    pb_strings(g.data, g.len, ip);
                    put_str(&ips, ips.n ? ", {\"address\": " : "{\"address\": ");
                    put_text(&ips, ip[2]);
                    put_optional(&ips, "gateway", ip[3]);
                    put_fmt(&ips, ", \"interface\": %zu", index);
                    /* ip[2].p is NULL when the address is absent: not for memchr */
                    int v6 = ip[2].n && memchr(ip[2].p, ':', ip[2].n);
                    if (old)
                        put_str(&ips, v6 ? ", \"version\": \"6\"}" : ", \"version\": \"4\"}");
                    else
                        put_byte(&ips, '}');
                } else {
                    pb_text(&g);
                    if (g.number >= 1 && g.number <= 3) own[g.number] = (struct text){g.data, g.len};
                }
            }
            put_str(&interfaces, interfaces.n ? ", {\"mac\": " : "{\"mac\": ");
            put_text(&interfaces, own[2]);
            put_str(&interfaces, ", \"name\": ");
            put_text(&interfaces, own[1]);
            put_optional(&interfaces, "sandbox", own[3]);
            put_byte(&interfaces, '}');
            index++;
        } else if (f.number == 4 && f.is_bytes) {
            struct text route[4] = {{NULL, 0}};
            pb_strings(f.data, f.len, route);
            put_str(&routes, routes.n ? ", {\"dst\": " : "{\"dst\": ");
            put_text(&routes, route[1]);
            put_optional(&routes, "gw", route[2]);
            put_byte(&routes, '}');
        } else if (f.number == 6 && !f.is_bytes) {
            error_code = f.varint;
        }
    }
    if (result != 0) {
        struct buf msg = {0};
        if (error.n)
            put(&msg, error.p, error.n);
        else
            put_str(&msg, "agent error");
        put_byte(&msg, 0);
        fail(error_code ? error_code : WIRING_FAILED, (char *)msg.p, "");
    }
    if (strcmp(command, "ADD")) return;
    struct buf out = {0};
    put_str(&out, "{\"cniVersion\": ");
    put_json_cstr(&out, version);
    put_str(&out, ", \"dns\": {}, \"interfaces\": [");
    put(&out, interfaces.p, interfaces.n);
    put_str(&out, "], \"ips\": [");
    put(&out, ips.p, ips.n);
    put_str(&out, "], \"routes\": [");
    put(&out, routes.p, routes.n);
    put_str(&out, "]}");
    write_out(&out);
}

/* ---- HTTP/2: one unary call (contivpy/cni/grpc_unary.py's UnaryCall) ---- */

static void frame(struct buf *b, unsigned type, unsigned flags, uint32_t stream,
                  const void *payload, size_t n) {
    unsigned char head[9] = {(unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n,
                             (unsigned char)type, (unsigned char)flags,
                             (unsigned char)(stream >> 24), (unsigned char)(stream >> 16),
                             (unsigned char)(stream >> 8), (unsigned char)stream};
    put(b, head, 9);
    put(b, payload, n);
}

static uint32_t u32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void send_all(int fd, const unsigned char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) connection_failed();
        p += w;
        n -= (size_t)w;
    }
}

/* The grpc-timeout header's value (http2_frames.grpc_timeout). */
static void grpc_timeout(char *out, size_t size) {
    double milliseconds = ceil(timeout_seconds * 1000);
    if (milliseconds < 1e8)
        snprintf(out, size, "%.0fm", milliseconds < 1 ? 1 : milliseconds);
    else
        snprintf(out, size, "%.0fS", fmin(ceil(timeout_seconds), 1e8 - 1));
}

static const unsigned char *unpadded(unsigned flags, const unsigned char *p, size_t *n) {
    if (!(flags & PADDED)) return p;
    if (!*n || p[0] >= *n) bad_reply("bad padding");
    *n = *n - 1 - p[0];
    return p + 1;
}

static void call(const unsigned char *message, size_t message_len, int fd) {
    static const char *const paths[][2] = {{"ADD", "/contivpy.cni.v1.RemoteCNI/Add"},
                                           {"DEL", "/contivpy.cni.v1.RemoteCNI/Delete"},
                                           {"CHECK", "/contivpy.cni.v1.RemoteCNI/Check"}};
    const char *path = paths[0][1];
    for (int k = 0; k < 3; k++)
        if (!strcmp(command, paths[k][0])) path = paths[k][1];
    double deadline = now() + timeout_seconds;
    char timeout[32];
    grpc_timeout(timeout, sizeof timeout);
    struct buf block = {0}, out = {0};
    put_byte(&block, 0x83); /* :method POST */
    put_byte(&block, 0x86); /* :scheme http */
    hpack_literal(&block, 4, NULL, path);
    hpack_literal(&block, 1, NULL, "localhost");
    hpack_literal(&block, 0, "grpc-timeout", timeout);
    hpack_literal(&block, 0, "te", "trailers");
    hpack_literal(&block, 31, NULL, "application/grpc");
    hpack_literal(&block, 58, NULL, "contivpy-cni");
    static const unsigned char settings[] = {0, 2, 0, 0, 0, 0, /* ENABLE_PUSH 0 */
                                             0, 4, 1, 0, 0, 0 /* INITIAL_WINDOW_SIZE 16 MiB */};
    uint32_t increment = RECEIVE_WINDOW - DEFAULT_WINDOW;
    unsigned char window[4] = {(unsigned char)(increment >> 24), (unsigned char)(increment >> 16),
                               (unsigned char)(increment >> 8), (unsigned char)increment};
    put_str(&out, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    frame(&out, SETTINGS, 0, 0, settings, sizeof settings);
    frame(&out, WINDOW_UPDATE, 0, 0, window, 4);
    frame(&out, HEADERS, END_HEADERS, 1, block.p, block.n);
    for (size_t at = 0; at < message_len; at += DEFAULT_FRAME_SIZE) {
        size_t n = message_len - at < DEFAULT_FRAME_SIZE ? message_len - at : DEFAULT_FRAME_SIZE;
        frame(&out, DATA, at + n == message_len ? END_STREAM : 0, 1, message + at, n);
    }
    send_all(fd, out.p, out.n);

    struct buf in = {0}, data = {0}, continuing = {0}, answer = {0};
    struct headers first = {0}, trailers = {0};
    int continuing_stream = -1, continuing_end = 0, done = 0;
    size_t used = 0;
    while (!done) {
        /* frames in the buffer */
        while (!done && in.n - used >= 9) {
            const unsigned char *h = in.p + used;
            size_t length = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
            if (length > DEFAULT_FRAME_SIZE) {
                char what[64];
                snprintf(what, sizeof what, "a frame of %zu bytes (FRAME_SIZE_ERROR)", length);
                bad_reply(what);
            }
            if (in.n - used < 9 + length) break;
            unsigned type = h[3], flags = h[4];
            uint32_t stream = u32(h + 5) & 0x7fffffff;
            const unsigned char *payload = h + 9;
            used += 9 + length;
            if (continuing_stream >= 0 && (type != CONTINUATION || (int)stream != continuing_stream))
                bad_reply("a header block interrupted (no CONTINUATION)");
            if (stream != 0 && stream != 1 && type != PRIORITY && type != WINDOW_UPDATE &&
                type != RST_STREAM) {
                char what[80];
                snprintf(what, sizeof what, "a frame of type %u on stream %u, never opened", type,
                         stream);
                bad_reply(what);
            }
            struct buf *reply = &answer;
            if (type == DATA) {
                payload = unpadded(flags, payload, &length);
                if (!first.seen) bad_reply("DATA before the response headers");
                put(&data, payload, length);
                if (data.n > MAX_MESSAGE + 5) bad_reply("a reply larger than 4194304 bytes");
                if (flags & END_STREAM) done = 1;
            } else if (type == HEADERS || type == CONTINUATION) {
                if (type == HEADERS) {
                    payload = unpadded(flags, payload, &length);
                    if (flags & PRIORITY_FLAG) { /* grpc_unary's block[5:]: short is empty */
                        size_t skip = length < 5 ? length : 5;
                        payload += skip;
                        length -= skip;
                    }
                    continuing.n = 0;
                    continuing_stream = (int)stream;
                    continuing_end = flags & END_STREAM;
                } else if (continuing_stream < 0) {
                    bad_reply("CONTINUATION without HEADERS");
                }
                put(&continuing, payload, length);
                if (flags & END_HEADERS) {
                    int on_ours = continuing_stream == 1;
                    continuing_stream = -1;
                    struct headers *target = NULL;
                    if (on_ours && !first.seen) {
                        target = &first;
                    } else if (on_ours && continuing_end) {
                        target = &trailers;
                    } else if (on_ours) {
                        /* decoded first: the table must follow every block */
                        decode_block(continuing.p, continuing.n, NULL);
                        bad_reply("a second header block that does not end the stream");
                    }
                    decode_block(continuing.p, continuing.n, target);
                    if (target) target->seen = 1;
                    if (on_ours && continuing_end) done = 1;
                }
            } else if (type == RST_STREAM && stream == 1) {
                if (length < 4) bad_reply("a frame too short for its type");
                uint32_t code = u32(payload);
                char how[96], name[32];
                if (code < sizeof ERROR_NAMES / sizeof *ERROR_NAMES)
                    snprintf(name, sizeof name, "%s", ERROR_NAMES[code]);
                else
                    snprintf(name, sizeof name, "0x%x", code);
                snprintf(how, sizeof how, "the server reset the request (HTTP/2 %s)", name);
                connection_lost(how);
            } else if (type == SETTINGS && !(flags & ACK)) {
                if (length % 6) bad_reply("a SETTINGS frame of a bad size");
                frame(reply, SETTINGS, ACK, 0, NULL, 0);
            } else if (type == PUSH_PROMISE) {
                bad_reply("PUSH_PROMISE, though push is off");
            } else if (type == PING && !(flags & ACK)) {
                frame(reply, PING, ACK, 0, payload, length);
            } else if (type == GOAWAY) {
                if (length < 8) bad_reply("a frame too short for its type");
                uint32_t last = u32(payload) & 0x7fffffff, code = u32(payload + 4);
                if (code != 0 || last < 1) {
                    /* the debug data, as text: put_json_string decodes it as Python does */
                    struct buf detail = {0};
                    if (code < sizeof ERROR_NAMES / sizeof *ERROR_NAMES)
                        put_fmt(&detail, "HTTP/2 %s", ERROR_NAMES[code]);
                    else
                        put_fmt(&detail, "HTTP/2 0x%x", code);
                    if (length > 8) {
                        put_str(&detail, ": ");
                        put(&detail, payload + 8, length - 8);
                    }
                    put_byte(&detail, 0);
                    struct buf what = {0};
                    if (code != 0) {
                        put_fmt(&what, "the server ended the connection (%s)", (char *)detail.p);
                        put_byte(&what, 0);
                        bad_reply((char *)what.p);
                    }
                    put_fmt(&what, "the server shut the connection down unanswered (%s)",
                            (char *)detail.p);
                    put_byte(&what, 0);
                    connection_lost((char *)what.p);
                }
            } else if (type == WINDOW_UPDATE && length < 4) {
                /* read for its increment (grpc_unary), though unused: our request went with
                 * the first window */
                bad_reply("a frame too short for its type");
            }
            /* PRIORITY, unknown types, other streams: ignored (RFC 9113 section 5.5) */
        }
        /* what the frames ask for (ACKs), once they are all read, as grpc_unary does */
        if (done) break;
        if (answer.n) send_all(fd, answer.p, answer.n);
        answer.n = 0;
        if (used) {
            memmove(in.p, in.p + used, in.n - used);
            in.n -= used;
            used = 0;
        }
        double remaining = deadline - now();
        if (remaining <= 0) deadline_exceeded();
        struct pollfd p = {fd, POLLIN, 0};
        int ready = poll(&p, 1, (int)ceil(remaining * 1000 < INT_MAX ? remaining * 1000 : INT_MAX));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) deadline_exceeded();
        reserve(&in, 65536);
        ssize_t got = recv(fd, in.p + in.n, 65536, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) connection_failed();
        if (got == 0) connection_lost("the server closed the connection before it answered");
        in.n += (size_t)got;
    }
    struct buf goodbye = {0};
    static const unsigned char nothing[8] = {0};
    frame(&goodbye, GOAWAY, 0, 0, nothing, 8);
    (void)send(fd, goodbye.p, goodbye.n, MSG_NOSIGNAL); /* the answer is in: best effort */

    /* the gRPC status (grpc_unary.UnaryCall.reply) */
    struct headers *status_from = trailers.seen ? &trailers : &first;
    if (!status_from->has_grpc_status) {
        if (strcmp(first.status, "200")) {
            char msg[128];
            snprintf(msg, sizeof msg,
                     "agent refused the request: gRPC status 2 UNKNOWN: HTTP status %s",
                     first.status[0] ? first.status : "missing");
            fail(WIRING_FAILED, msg, "");
        }
        bad_reply("the reply has no grpc-status");
    }
    put_byte(&status_from->grpc_status, 0);
    char *end;
    const char *status_text = (char *)status_from->grpc_status.p;
    long status = strtol(status_text, &end, 10);
    if (!*status_text || *end) {
        struct buf what = {0};
        put_str(&what, "grpc-status ");
        put_fmt(&what, "'%s'", status_text);
        put_byte(&what, 0);
        bad_reply((char *)what.p);
    }
    if (status != 0) {
        /* the message, percent-decoded (http2_frames.percent_decode) */
        struct buf message_text = {0};
        const struct buf *m = &status_from->grpc_message;
        int percent = m->n && memchr(m->p, '%', m->n);
        for (size_t k = 0; k < m->n; k++) {
            if (!percent && m->p[k] >= 0x80) { /* latin-1 text, as HPACK gave it: UTF-8 */
                put_byte(&message_text, (unsigned char)(0xc0 | m->p[k] >> 6));
                put_byte(&message_text, (unsigned char)(0x80 | (m->p[k] & 0x3f)));
            } else if (percent && m->p[k] == '%' && k + 2 < m->n &&
                       strchr("0123456789ABCDEFabcdef", m->p[k + 1]) && m->p[k + 1] &&
                       strchr("0123456789ABCDEFabcdef", m->p[k + 2]) && m->p[k + 2]) {
                char hex[3] = {(char)m->p[k + 1], (char)m->p[k + 2], 0};
                put_byte(&message_text, (unsigned char)strtol(hex, NULL, 16));
                k += 2;
            } else {
                put_byte(&message_text, m->p[k]);
            }
        }
        put_byte(&message_text, 0);
        if (status == 4) deadline_exceeded(); /* the agent's deadline is ours */
        struct buf msg = {0};
        put_fmt(&msg, "agent refused the request: gRPC status %ld %s: %s", status,
                status > 0 && status < 17 ? STATUS_NAMES[status] : "?", (char *)message_text.p);
        put_byte(&msg, 0);
        fail(WIRING_FAILED, (char *)msg.p, "");
    }
    if (first.content_type.n < 16 || memcmp(first.content_type.p, "application/grpc", 16)) {
        struct buf what = {0};
        put_str(&what, "content-type '");
        put(&what, first.content_type.p, first.content_type.n);
        put_str(&what, "'");
        put_byte(&what, 0);
        bad_reply((char *)what.p);
    }
    if (data.n < 5) bad_reply("an OK reply without a message");
    if (data.p[0] != 0) bad_reply("a compressed reply (none was asked for)");
    if (data.n != 5 + (size_t)u32(data.p + 1)) bad_reply("the reply is not exactly one message");
    print_result(data.p + 5, data.n - 5);
}

static void read_stdin(void) {
    for (;;) {
        reserve(&input, 65536);
        ssize_t got = read(0, input.p + input.n, 65536);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        input.n += (size_t)got;
    }
}

int main(void) {
    command = getenv("CNI_COMMAND");
    if (command != NULL && !strcmp(command, "VERSION")) {
        /* Read, not used (as plugin.py): a runtime writing it would otherwise get EPIPE. */
        if (!isatty(0)) read_stdin();
        struct buf out = {0};
        put_str(&out, "{\"cniVersion\": \"1.0.0\", \"supportedVersions\": [");
        for (size_t k = 0; k < sizeof SUPPORTED_VERSIONS / sizeof *SUPPORTED_VERSIONS; k++) {
            put_str(&out, k ? ", " : "");
            put_json_cstr(&out, SUPPORTED_VERSIONS[k]);
        }
        put_str(&out, "]}");
        write_out(&out);
        return 0;
    }
    read_stdin(); /* all of it, before anything else, as plugin.py reads it */
    if (command == NULL || (strcmp(command, "ADD") && strcmp(command, "DEL") &&
                            strcmp(command, "CHECK")))
        delegate(); /* an unknown command's error */
    for (size_t k = 0; k < input.n; k++)
        if (input.p[k] >= 0x80 || input.p[k] == 0) delegate();
    int simulated = 0;
    if (check_config(&simulated)) delegate();
    const char *container = getenv("CNI_CONTAINERID"), *netns = getenv("CNI_NETNS");
    const char *ifname = getenv("CNI_IFNAME"), *args = getenv("CNI_ARGS");
    if (netns == NULL) netns = "";
    if (ifname == NULL || !*ifname) ifname = "eth0";
    if (args == NULL) args = "";
    if (container == NULL || !*container || !ascii(container) || !ascii(netns) ||
        !ascii(ifname) || !ascii(args) || check_args(args))
        delegate();
    int del = !strcmp(command, "DEL");
    struct stat st;
    if (!del && (!*netns || (!simulated && stat(netns, &st))))
        delegate();

    /* the request (wire.encode_request; the configuration as given: the agent parses it) */
    struct json j = {input.p, input.n, 0};
    ws(&j);
    size_t config_start = j.i, config_end = input.n;
    while (config_end > config_start && strchr(" \t\n\r", input.p[config_end - 1])) config_end--;
    struct buf message = {0};
    put_byte(&message, 0); /* not compressed */
    put(&message, "\0\0\0\0", 4);
    pb_bytes(&message, 1, version, strlen(version));
    pb_bytes(&message, 2, container, strlen(container));
    pb_bytes(&message, 3, netns, strlen(netns));
    pb_bytes(&message, 4, ifname, strlen(ifname));
    pb_bytes(&message, 5, input.p + config_start, config_end - config_start);
    pb_bytes(&message, 6, args, strlen(args));
    size_t body = message.n - 5;
    message.p[1] = (unsigned char)(body >> 24);
    message.p[2] = (unsigned char)(body >> 16);
    message.p[3] = (unsigned char)(body >> 8);
    message.p[4] = (unsigned char)body;
    if (message.n > DEFAULT_WINDOW) delegate(); /* more than the first window: Python's */

    /* connected non-blocking, as Python's socket under a timeout connects: an agent whose
     * backlog is full refuses at once (EAGAIN) instead of holding us past any deadline */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    memcpy(address.sun_path, socket_path, strlen(socket_path) + 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
        if (fd >= 0) close(fd);
        delegate(); /* unreachable: nothing was sent; the Python plugin says why */
    }
    call(message.p, message.n, fd);
    close(fd);
    return 0;
}
