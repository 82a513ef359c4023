/* imap4-args.c - sequence sets and dates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "imap4-args.h"

static int seq_number(const char **sp, uint32_t *n_r)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (*s == '*') {
		*n_r = IMAP_SEQ_STAR;
		*sp = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1; /* also rejects 0 and leading zeros */
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
		s++;
	}
	*n_r = (uint32_t)v;
	*sp = s;
	return 0;
}

int imap_seqset_parse(const char *s, size_t max_ranges,
		      struct imap_seqset *set_r, const char **error_r)
{
	size_t cap = 0;
	const char *err = "Invalid sequence set";
	int ret = PH_EINVAL;

	set_r->ranges = NULL;
	set_r->count = 0;
	if (strcmp(s, "$") == 0) {
		*error_r = "SEARCHRES ($) is not supported";
		return PH_ENOTSUP;
	}
	for (;;) {
		struct imap_seq_range r;

		if (seq_number(&s, &r.lo) < 0)
			goto fail;
		r.hi = r.lo;
		if (*s == ':') {
			s++;
			if (seq_number(&s, &r.hi) < 0)
				goto fail;
		}
		if (set_r->count == max_ranges) {
			err = "Too many sequence ranges";
			ret = PH_ETOOBIG;
			goto fail;
		}
		if (set_r->count == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 8;
			struct imap_seq_range *nr;

			nr = realloc(set_r->ranges, ncap * sizeof(*nr));
			if (nr == NULL) {
				err = "Out of memory";
				ret = PH_ENOMEM;
				goto fail;
			}
			set_r->ranges = nr;
			cap = ncap;
		}
		set_r->ranges[set_r->count++] = r;
		if (*s == '\0')
			return PH_OK;
		if (*s++ != ',')
			goto fail;
	}
fail:
	imap_seqset_free(set_r);
	*error_r = err;
	return ret;
}

void imap_seqset_free(struct imap_seqset *set)
{
	free(set->ranges);
	set->ranges = NULL;
	set->count = 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void imap_seqset_resolve(struct imap_seqset *set, uint32_t star)
{
	size_t i, out = 0;

	for (i = 0; i < set->count; i++) {
		struct imap_seq_range *r = &set->ranges[i];

		if (r->lo == IMAP_SEQ_STAR)
			r->lo = star;
		if (r->hi == IMAP_SEQ_STAR)
			r->hi = star;
		if (r->lo > r->hi) {
			uint32_t t = r->lo;

			r->lo = r->hi;
			r->hi = t;
		}
		if (r->lo == 0) /* "*" of an empty mailbox */
			r->lo = 1;
	}
	qsort(set->ranges, set->count, sizeof(*set->ranges), range_cmp);
	for (i = 0; i < set->count; i++) {
		struct imap_seq_range r = set->ranges[i];

		if (r.hi == 0)
			continue; /* "*:*" of an empty mailbox */
		if (out > 0 && (uint64_t)set->ranges[out - 1].hi + 1 >= r.lo) {
			if (r.hi > set->ranges[out - 1].hi)
				set->ranges[out - 1].hi = r.hi;
			continue;
		}
		set->ranges[out++] = r;
	}
	set->count = out;
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

int imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (n < set->ranges[mid].lo)
			hi = mid;
		else if (n > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr",
					    "May", "Jun", "Jul", "Aug",
					    "Sep", "Oct", "Nov", "Dec"};

static const int month_days[12] = {31, 29, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};

static int digits(const char *s, int n, int *v_r)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*v_r = v;
	return 0;
}

/* "d-Mon-yyyy" with 1 or 2 day digits (or " d" when `space_pad`). */
static int parse_day_month_year(const char **sp, int space_pad, struct tm *tm)
{
	const char *s = *sp;
	int day, year, mon;

	if (space_pad && s[0] == ' ' && digits(s + 1, 1, &day) == 0)
		s += 2;
	else if (digits(s, 2, &day) == 0)
		s += 2;
	else if (digits(s, 1, &day) == 0)
		s += 1;
	else
		return -1;
	if (*s++ != '-')
		return -1;
	for (mon = 0; mon < 12; mon++) {
		if (strncasecmp(s, month_names[mon], 3) == 0)
			break;
	}
	if (mon == 12 || s[3] != '-')
		return -1;
	s += 4;
	if (digits(s, 4, &year) < 0)
		return -1;
	s += 4;
	if (day < 1 || day > month_days[mon] ||
	    (mon == 1 && day == 29 &&
	     !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)))
		return -1;
	memset(tm, 0, sizeof(*tm));
	tm->tm_mday = day;
	tm->tm_mon = mon;
	tm->tm_year = year - 1900;
	*sp = s;
	return 0;
}

int imap_parse_date(const char *s, int64_t *time_r)
{
	struct tm tm;

	if (parse_day_month_year(&s, 0, &tm) < 0 || *s != '\0')
		return PH_EINVAL;
	*time_r = (int64_t)timegm(&tm);
	return PH_OK;
}

int imap_parse_datetime(const char *s, int64_t *time_r, int32_t *tz_r)
{
	struct tm tm;
	int h, m, sec, zh, zm, sign;

	if (parse_day_month_year(&s, 1, &tm) < 0)
		return PH_EINVAL;
	if (s[0] != ' ' || digits(s + 1, 2, &h) < 0 || s[3] != ':' ||
	    digits(s + 4, 2, &m) < 0 || s[6] != ':' ||
	    digits(s + 7, 2, &sec) < 0 || s[9] != ' ' ||
	    (s[10] != '+' && s[10] != '-') || digits(s + 11, 2, &zh) < 0 ||
	    digits(s + 13, 2, &zm) < 0 || s[15] != '\0')
		return PH_EINVAL;
	if (h > 23 || m > 59 || sec > 60 || zm > 59)
		return PH_EINVAL;
	sign = s[10] == '-' ? -1 : 1;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	*tz_r = sign * (zh * 60 + zm);
	*time_r = (int64_t)timegm(&tm) - (int64_t)*tz_r * 60;
	return PH_OK;
}

void imap_format_datetime(int64_t t, int32_t tz_minutes, char out[32])
{
	time_t local = (time_t)(t + (int64_t)tz_minutes * 60);
	struct tm tm;
	int tz = tz_minutes < 0 ? -tz_minutes : tz_minutes;

	if (gmtime_r(&local, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, 32, "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d", tm.tm_mday,
		 month_names[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, tz_minutes < 0 ? '-' : '+',
		 (tz / 60) % 100, tz % 60);
}
