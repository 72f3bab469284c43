/* lib/net/http_parse.c - the strict, incremental HTTP/1.1 response parser
 * (RFC 9112 framing, RFC 9110 fields), fed by the client and by the fuzz
 * target. Lines (status, headers, chunk sizes, trailers) are collected in
 * the parser's own line buffer, so a caller hands over every byte it
 * received and keeps nothing; bodies go straight into the response's
 * buffer. Every size is bounded: a line by SONDE__HTTP_LINE_MAX, a header
 * section by max_header, the de-chunked body by max_body.
 *
 * What "strict" rejects (SONDE_EIO): a status line that is not
 * "HTTP/1.x NNN[ reason]", a bare CR, control characters in a line, a
 * header without a colon, whitespace before the colon (RFC 9112 5.1),
 * obsolete line folding, an empty or non-token name, a Content-Length that
 * is not all digits or disagrees with an earlier one, a Transfer-Encoding
 * other than "chunked", a malformed chunk size or a chunk not followed by
 * CRLF, a 101 (we never ask to switch protocols). A bare LF ends a line
 * (RFC 9112 2.2 lets a recipient accept it). An unparsable Retry-After is
 * ignored (retry_after_s -1), not an error: it only advises. */
#include "net/http.h"

enum {
	S_STATUS,
	S_HEADER,
	S_BODY_CL,
	S_BODY_EOF,
	S_CHUNK_SIZE,
	S_CHUNK_DATA,
	S_CHUNK_CRLF,
	S_TRAILER,
	S_DONE,
	S_ERROR
};

void sonde__http_response_init(sonde__http_response *res)
{
	memset(res, 0, sizeof(*res));
	res->retry_after_s = -1;
	res->content_length = -1;
}

void sonde__http_response_destroy(sonde__http_response *res)
{
	if (res)
		sonde_buf_destroy(&res->body);
}

static void reset_response(sonde__http_response *res)
{
	res->status = 0;
	res->minor_version = 0;
	res->retry_after_s = -1;
	res->content_length = -1;
	res->chunked = false;
	res->keep_alive = false;
	res->content_type[0] = '\0';
	sonde_buf_reset(&res->body);
}

void sonde__http_parser_init(sonde__http_parser *p, sonde__http_response *res, bool head,
                             int64_t now_unix_s, size_t max_header, size_t max_body)
{
	p->state = S_STATUS;
	p->head = head;
	p->saw_cl = p->saw_te = p->any = false;
	p->now_unix_s = now_unix_s;
	p->max_header = max_header ? max_header : SONDE__HTTP_HEADER_MAX_DEFAULT;
	p->max_body = max_body ? max_body : SONDE__HTTP_BODY_MAX_DEFAULT;
	p->header_bytes = 0;
	p->remaining = 0;
	p->res = res;
	p->line_len = 0;
	reset_response(res);
}

static int fail(sonde__http_parser *p, int status, const char *what)
{
	p->state = S_ERROR;
	return sonde__fail(status, "http response: %s", what);
}

/* RFC 9110 5.6.2 tchar */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool sonde__http_is_token(const char *s, size_t n)
{
	size_t i;

	if (!s || n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* ---- Retry-After -------------------------------------------------------------------- */

#define RETRY_AFTER_CAP 1000000000 /* seconds (31 years): longer is "forever" */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int month_of(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int i;

	for (i = 0; i < 12; i++)
		if (memcmp(s, months + 3 * i, 3) == 0)
			return i + 1;
	return 0;
}

/* n digits at s, or -1 */
static int digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "HH:MM:SS" at s */
static int64_t parse_hms(const char *s)
{
	int h = digits(s, 2), m = digits(s + 3, 2), sec = digits(s + 6, 2);

	if (h < 0 || m < 0 || sec < 0 || s[2] != ':' || s[5] != ':' || h > 23 || m > 59 || sec > 60)
		return -1;
	return (int64_t)h * 3600 + m * 60 + sec;
}

static bool day_name(const char *s, size_t n, bool long_form)
{
	static const char *const shrt[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const char *const lng[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
	                                  "Friday", "Saturday", "Sunday"};
	int i;

	for (i = 0; i < 7; i++) {
		const char *d = long_form ? lng[i] : shrt[i];
		if (strlen(d) == n && memcmp(s, d, n) == 0)
			return true;
	}
	return false;
}

static int64_t to_unix(int64_t y, int mon, int d, int64_t hms)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (mon < 1 || d < 1 || d > mdays[mon - 1] || hms < 0)
		return INT64_MIN;
	return days_from_civil(y, mon, d) * 86400 + hms;
}

/* The three HTTP-date forms, or INT64_MIN. */
static int64_t parse_http_date(const char *v, size_t n)
{
	const char *comma = memchr(v, ',', n);
	int y, d, mon;

	if (n == 29 && comma == v + 3) {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		if (!day_name(v, 3, false) || memcmp(v + 3, ", ", 2) || v[7] != ' ' ||
		    v[11] != ' ' || v[16] != ' ' || memcmp(v + 25, " GMT", 4))
			return INT64_MIN;
		d = digits(v + 5, 2);
		mon = month_of(v + 8);
		y = digits(v + 12, 4);
		if (d < 0 || y < 0)
			return INT64_MIN;
		return to_unix(y, mon, d, parse_hms(v + 17));
	}
	if (comma && comma > v && (size_t)(v + n - comma) == 24) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
		const char *s = comma + 2;
		if (!day_name(v, (size_t)(comma - v), true) || comma[1] != ' ' || s[2] != '-' ||
		    s[6] != '-' || s[9] != ' ' || memcmp(s + 18, " GMT", 4))
			return INT64_MIN;
		d = digits(s, 2);
		mon = month_of(s + 3);
		y = digits(s + 7, 2);
		if (d < 0 || y < 0)
			return INT64_MIN;
		/* two-digit year: RFC 9110 reads a year more than 50 years ahead
		 * as the past century's; with today's clock that is 70..99 ->
		 * 19xx and 00..69 -> 20xx until 2050 */
		return to_unix(y < 70 ? 2000 + y : 1900 + y, mon, d, parse_hms(s + 10));
	}
	if (n == 24 && !comma) {
		/* asctime: Sun Nov  6 08:49:37 1994 (day padded with a space) */
		if (!day_name(v, 3, false) || v[3] != ' ' || v[7] != ' ' || v[10] != ' ' ||
		    v[19] != ' ')
			return INT64_MIN;
		mon = month_of(v + 4);
		d = v[8] == ' ' ? digits(v + 9, 1) : digits(v + 8, 2);
		y = digits(v + 20, 4);
		if (d < 0 || y < 0)
			return INT64_MIN;
		return to_unix(y, mon, d, parse_hms(v + 11));
	}
	return INT64_MIN;
}

int64_t sonde__http_retry_after(const char *v, size_t n, int64_t now_unix_s)
{
	int64_t t, secs = 0;
	size_t i;

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0)
		return -1;
	if (v[0] >= '0' && v[0] <= '9') {
		for (i = 0; i < n; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -1;
			if (secs < RETRY_AFTER_CAP)
				secs = secs * 10 + (v[i] - '0');
		}
		return secs < RETRY_AFTER_CAP ? secs : RETRY_AFTER_CAP;
	}
	t = parse_http_date(v, n);
	if (t == INT64_MIN)
		return -1;
	if (t <= now_unix_s)
		return 0;
	return t - now_unix_s < RETRY_AFTER_CAP ? t - now_unix_s : RETRY_AFTER_CAP;
}

/* ---- lines ---------------------------------------------------------------------------- */

static int status_line(sonde__http_parser *p, const char *l, size_t n)
{
	sonde__http_response *res = p->res;
	size_t i;
	int code;

	/* HTTP-version SP 3DIGIT [SP reason-phrase]; the reason may be empty
	 * and some servers omit the SP before an empty one */
	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[7] < '0' || l[7] > '9' || l[8] != ' ')
		return fail(p, SONDE_EIO, "malformed status line");
	code = digits(l + 9, 3);
	if (code < 100 || code > 599 || (n > 12 && l[12] != ' '))
		return fail(p, SONDE_EIO, "malformed status code");
	for (i = 13; i < n; i++)
		if ((unsigned char)l[i] < 0x20 && l[i] != '\t')
			return fail(p, SONDE_EIO, "control character in the reason phrase");
	if (code == 101)
		return fail(p, SONDE_EIO, "101 Switching Protocols was not asked for");
	res->status = code;
	res->minor_version = l[7] - '0';
	/* HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes it */
	res->keep_alive = res->minor_version >= 1;
	p->state = S_HEADER;
	return SONDE_OK;
}

static int content_length(sonde__http_parser *p, const char *v, size_t n)
{
	int64_t cl = 0;
	size_t i;

	if (n == 0 || n > 18)
		return fail(p, SONDE_EIO, "invalid Content-Length");
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(p, SONDE_EIO, "invalid Content-Length");
		cl = cl * 10 + (v[i] - '0');
	}
	if (p->saw_cl && cl != p->res->content_length)
		return fail(p, SONDE_EIO, "conflicting Content-Length headers");
	p->saw_cl = true;
	p->res->content_length = cl;
	return SONDE_OK;
}

/* Connection: a comma-separated token list */
static void connection(sonde__http_parser *p, const char *v, size_t n)
{
	while (n) {
		const char *c = memchr(v, ',', n);
		size_t len = c ? (size_t)(c - v) : n, tl = len;
		const char *t = v;
		while (tl && (*t == ' ' || *t == '\t')) {
			t++;
			tl--;
		}
		while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
			tl--;
		if (sonde__ascii_ieq(t, tl, "close"))
			p->res->keep_alive = false;
		else if (sonde__ascii_ieq(t, tl, "keep-alive") && p->res->minor_version == 0)
			p->res->keep_alive = true;
		if (!c)
			break;
		n -= len + 1;
		v = c + 1;
	}
}

/* One "name: value" line of the header section (trailers: only checked). */
static int header_line(sonde__http_parser *p, const char *l, size_t n, bool trailer)
{
	const char *colon, *v;
	size_t i, nl, vn;

	if (l[0] == ' ' || l[0] == '\t')
		return fail(p, SONDE_EIO, "obsolete line folding");
	colon = memchr(l, ':', n);
	if (!colon || colon == l)
		return fail(p, SONDE_EIO, "header line without a name and a colon");
	nl = (size_t)(colon - l);
	for (i = 0; i < nl; i++)
		if (!is_tchar((unsigned char)l[i]))
			return fail(p, SONDE_EIO, "invalid character in a header name");
	v = colon + 1;
	vn = n - nl - 1;
	for (i = 0; i < vn; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
			return fail(p, SONDE_EIO, "control character in a header value");
	while (vn && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (trailer)
		return SONDE_OK;
	if (sonde__ascii_ieq(l, nl, "content-length"))
		return content_length(p, v, vn);
	if (sonde__ascii_ieq(l, nl, "transfer-encoding")) {
		if (p->saw_te || !sonde__ascii_ieq(v, vn, "chunked"))
			return fail(p, SONDE_EIO, "unsupported Transfer-Encoding (only chunked)");
		p->saw_te = true;
		p->res->chunked = true;
	} else if (sonde__ascii_ieq(l, nl, "connection")) {
		connection(p, v, vn);
	} else if (sonde__ascii_ieq(l, nl, "retry-after")) {
		p->res->retry_after_s = sonde__http_retry_after(v, vn, p->now_unix_s);
	} else if (sonde__ascii_ieq(l, nl, "content-type")) {
		if (vn > SONDE__HTTP_CONTENT_TYPE_MAX - 1)
			vn = SONDE__HTTP_CONTENT_TYPE_MAX - 1;
		memcpy(p->res->content_type, v, vn);
		p->res->content_type[vn] = '\0';
	}
	return SONDE_OK;
}

/* The empty line after the headers: how is the body delimited? */
static int end_of_headers(sonde__http_parser *p)
{
	sonde__http_response *res = p->res;

	if (res->status < 200) {
		/* an interim response (100 Continue, 103 Early Hints): skip it,
		 * the final one follows on the same connection */
		sonde__http_parser_init(p, res, p->head, p->now_unix_s, p->max_header, p->max_body);
		p->any = true;
		return SONDE_OK;
	}
	p->header_bytes = 0;
	if (p->head || res->status == 204 || res->status == 304) {
		p->state = S_DONE;
		return SONDE_OK;
	}
	if (res->chunked) {
		/* RFC 9112 6.3: chunked wins over Content-Length, and the
		 * connection must not be reused (a smuggling attempt or a
		 * broken intermediary) */
		if (p->saw_cl)
			res->keep_alive = false;
		p->state = S_CHUNK_SIZE;
		return SONDE_OK;
	}
	if (res->content_length >= 0) {
		if ((uint64_t)res->content_length > p->max_body)
			return fail(p, SONDE_ELIMIT,
			            "Content-Length above the client's body limit");
		p->remaining = (uint64_t)res->content_length;
		p->state = p->remaining ? S_BODY_CL : S_DONE;
		return SONDE_OK;
	}
	/* delimited by the close: the connection cannot be reused */
	res->keep_alive = false;
	p->state = S_BODY_EOF;
	return SONDE_OK;
}

static int chunk_size_line(sonde__http_parser *p, const char *l, size_t n)
{
	uint64_t size = 0;
	size_t i;

	for (i = 0; i < n && sonde__hex_val[(unsigned char)sonde__ascii_lower(l[i])] != 0xff; i++) {
		if (size >> 60)
			return fail(p, SONDE_EIO, "chunk size overflows");
		size = size << 4 | sonde__hex_val[(unsigned char)sonde__ascii_lower(l[i])];
	}
	if (i == 0)
		return fail(p, SONDE_EIO, "malformed chunk size");
	/* chunk extensions (after BWS ';') are allowed and ignored */
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i < n && l[i] != ';')
		return fail(p, SONDE_EIO, "malformed chunk size");
	if (size == 0) {
		p->header_bytes = 0;
		p->state = S_TRAILER;
		return SONDE_OK;
	}
	if (size > p->max_body || p->res->body.len > p->max_body - size)
		return fail(p, SONDE_ELIMIT, "chunked body above the client's body limit");
	p->remaining = size;
	p->state = S_CHUNK_DATA;
	return SONDE_OK;
}

/* A complete line (LF and a CR before it removed). */
static int line_done(sonde__http_parser *p, const char *l, size_t n)
{
	switch (p->state) {
	case S_STATUS: return status_line(p, l, n);
	case S_HEADER: return n ? header_line(p, l, n, false) : end_of_headers(p);
	case S_CHUNK_SIZE: return chunk_size_line(p, l, n);
	case S_CHUNK_CRLF:
		if (n)
			return fail(p, SONDE_EIO, "chunk data not followed by CRLF");
		p->state = S_CHUNK_SIZE;
		return SONDE_OK;
	case S_TRAILER:
		if (n == 0) {
			p->state = S_DONE;
			return SONDE_OK;
		}
		return header_line(p, l, n, true);
	default: return fail(p, SONDE_EIO, "internal state");
	}
}

/* Takes bytes of a line from data; returns how many, and calls line_done
 * when the LF arrived. *rc gets an error status, or OK. */
static size_t take_line(sonde__http_parser *p, const char *data, size_t len, int *rc)
{
	const char *lf = memchr(data, '\n', len);
	size_t n = lf ? (size_t)(lf - data) : len, used = lf ? n + 1 : n, i;

	*rc = SONDE_OK;
	/* the chunk-size and CRLF lines count toward the header limit too: a
	 * stream of empty chunks is bounded by the body loop, a long line here */
	if (p->line_len + n > SONDE__HTTP_LINE_MAX) {
		*rc = fail(p, SONDE_ELIMIT, "line longer than 8192 bytes");
		return 0;
	}
	if (p->state == S_STATUS || p->state == S_HEADER || p->state == S_TRAILER) {
		if (p->header_bytes + used > p->max_header) {
			*rc = fail(p, SONDE_ELIMIT, "header section above the client's limit");
			return 0;
		}
		p->header_bytes += used;
	}
	memcpy(p->line + p->line_len, data, n);
	p->line_len += n;
	if (!lf)
		return used;
	n = p->line_len;
	p->line_len = 0;
	if (n && p->line[n - 1] == '\r')
		n--;
	for (i = 0; i < n; i++) {
		if (p->line[i] == '\r' || p->line[i] == '\0') {
			*rc = fail(p, SONDE_EIO, "bare CR or NUL in a line");
			return 0;
		}
	}
	*rc = line_done(p, p->line, n);
	return used;
}

static int body_bytes(sonde__http_parser *p, const char *data, size_t n)
{
	sonde__buf_put(&p->res->body, data, n);
	if (p->res->body.oom)
		return fail(p, SONDE_ENOMEM, "out of memory for the body");
	return SONDE_OK;
}

/* The body's NUL (room was reserved with each append, so this never
 * allocates for a non-empty body; an empty one stays without memory). */
static int terminate(sonde__http_parser *p)
{
	if (p->res->body.len)
		sonde__buf_terminate(&p->res->body);
	if (p->res->body.oom)
		return fail(p, SONDE_ENOMEM, "out of memory for the body");
	return SONDE_OK;
}

int sonde__http_parse(sonde__http_parser *p, const char *data, size_t len, size_t *consumed)
{
	size_t off = 0, n;
	int rc = SONDE_OK;

	*consumed = 0;
	if (p->state == S_ERROR)
		return sonde__fail(SONDE_EIO, "http response: parser already failed");
	if (len)
		p->any = true;
	while (off < len && p->state != S_DONE) {
		switch (p->state) {
		case S_BODY_CL:
		case S_CHUNK_DATA:
			n = len - off < p->remaining ? len - off : (size_t)p->remaining;
			rc = body_bytes(p, data + off, n);
			if (rc)
				return rc;
			off += n;
			p->remaining -= n;
			if (p->remaining == 0)
				p->state = p->state == S_BODY_CL ? S_DONE : S_CHUNK_CRLF;
			break;
		case S_BODY_EOF:
			n = len - off;
			if (p->res->body.len + n > p->max_body)
				return fail(p, SONDE_ELIMIT, "body above the client's body limit");
			rc = body_bytes(p, data + off, n);
			if (rc)
				return rc;
			off += n;
			break;
		default:
			off += take_line(p, data + off, len - off, &rc);
			if (rc)
				return rc;
		}
	}
	*consumed = off;
	if (p->state != S_DONE)
		return SONDE__HTTP_MORE;
	return terminate(p);
}

int sonde__http_parse_eof(sonde__http_parser *p)
{
	if (p->state == S_DONE)
		return SONDE_OK;
	if (p->state == S_BODY_EOF) {
		p->state = S_DONE;
		return terminate(p);
	}
	if (p->state == S_ERROR)
		return sonde__fail(SONDE_EIO, "http response: parser already failed");
	return fail(p, SONDE_EIO,
	            p->any ? "connection closed mid-response"
	                   : "connection closed before the response");
}
