/* SPDX-License-Identifier: MIT */
/*
 * A run's benchmarks.json (every repetition attached to its cell) and
 * env.json (the keys the report shows, checked), read strictly (run_pvt.h).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run_pvt.h"

/*
 * Attaches one repetition of benchmarks.json to its cell.  The name is
 * mode/backend/size/PxC/placement, maybe followed by what google-benchmark
 * appends (/manual_time, /repeats:N, ...); one of no cell is passed over.
 * Returns 0 or -ENOMEM.
 */
static int attach_rep(struct rep_run *run, json_t *b)
{
	const char *name = json_string_value(json_object_get(b, "run_name"));
	const char *type = json_string_value(json_object_get(b, "run_type"));
	char buf[512], *part[6] = {0};
	struct rep_cell key = {0};
	size_t np = 0;

	if (!name)
		name = json_string_value(json_object_get(b, "name"));
	if (!name || (type && strcmp(type, "iteration") != 0) ||
	    json_is_true(json_object_get(b, "error_occurred")))
		return 0;
	snprintf(buf, sizeof(buf), "%s", name);
	/* strsep, not strtok: a floor's backend may be empty ("floor//64/..."). */
	for (char *s = buf; s && np < 6;)
		part[np++] = strsep(&s, "/");
	/* rate and wakeup cells: one per rate or gap, named in a sixth part */
	if (part[5] && !strcmp(part[5], "rate=max"))
		key.offered = INFINITY;
	else if (part[5] && sscanf(part[5], "rate=%lf", &key.offered) != 1)
		sscanf(part[5], "gap_ns=%lf", &key.gap_ns);
	if (np < 5 || sscanf(part[3], "%dx%d", &key.producers, &key.consumers) != 2)
		return 0;
	key.mode = part[0];
	key.backend = (char *)run_norm_backend(part[0], part[1]);
	key.size = run_parse_size(part[2]);
	key.placement = part[4];
	if (key.size < 0)
		return 0;
	struct rep_cell *c = (struct rep_cell *)rep_run_find(run, &key, false);

	if (!c)
		return 0;
	json_t *v = json_object_get(b, rep_lower_is_better(c) ? "lat_p50_ns" : "msgs_per_s");

	if (!json_is_number(v))
		return 0;
	if (c->nreps == c->capreps) {
		size_t cap = c->capreps ? 2 * c->capreps : 8;
		double *nr = realloc(c->reps, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		c->reps = nr;
		c->capreps = cap;
	}
	c->reps[c->nreps++] = json_number_value(v);
	run->have_bench = true;
	return 0;
}

/*
 * google-benchmark writes a non-finite double as a bare Infinity, -Infinity
 * or NaN (a rate over a zero time, a cv over a zero mean), which is not
 * JSON.  Outside strings each becomes null (no line moves, so errors keep
 * their line numbers); any other text is left to jansson.  @out has room
 * for 2 * @n bytes (NaN grows by one).  Returns the length written.
 */
static size_t json_nonfinite_to_null(const char *s, size_t n, char *out)
{
	static const char *const words[] = {"-Infinity", "Infinity", "NaN"};
	bool in_str = false;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in_str) {
			if (s[i] == '\\' && i + 1 < n)
				out[o++] = s[i++];
			else if (s[i] == '"')
				in_str = false;
		} else if (s[i] == '"') {
			in_str = true;
		} else {
			size_t w = 0, l = 0;

			for (; w < sizeof(words) / sizeof(words[0]); w++) {
				l = strlen(words[w]);
				if (l <= n - i && !memcmp(s + i, words[w], l))
					break;
			}
			if (w < sizeof(words) / sizeof(words[0])) {
				memcpy(out + o, "null", 4);
				o += 4;
				i += l - 1;
				continue;
			}
		}
		out[o++] = s[i];
	}
	return o;
}

/*
 * benchmarks.json, read whole and made JSON first, into *DOC.  Returns 0;
 * -ENOMEM; -EINVAL with @jerr set (unreadable, not JSON).
 */
static int load_bench_json(const char *path, json_t **doc, json_error_t *jerr)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL, *nb, *js = NULL;
	size_t len = 0, cap = 0, got;
	int ret = -EINVAL;

	*doc = NULL;
	memset(jerr, 0, sizeof(*jerr));
	if (!f) {
		snprintf(jerr->text, sizeof(jerr->text), "%s", strerror(errno));
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 1 << 16;
			nb = realloc(buf, cap);
			if (!nb)
				goto run_nomem;
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(jerr->text, sizeof(jerr->text), "read error");
		goto out;
	}
	js = malloc(2 * len + 1);
	if (!js)
		goto run_nomem;
	*doc = json_loadb(js, json_nonfinite_to_null(buf, len, js), 0, jerr);
	ret = *doc ? 0 : -EINVAL;
	goto out;
run_nomem:
	ret = -ENOMEM;
out:
	fclose(f);
	free(buf);
	free(js);
	return ret;
}

int run_load_bench(struct rep_run *run, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc, *arr, *b;
	size_t i;
	int ret = load_bench_json(path, &doc, &jerr);

	if (ret == -ENOMEM)
		return run_nomem(err, errlen);
	if (ret < 0) {
		snprintf(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
		return ret;
	}
	arr = json_object_get(doc, "benchmarks");
	if (!json_is_array(arr)) {
		json_decref(doc);
		snprintf(err, errlen, "%s: no \"benchmarks\" array (not google-benchmark output)",
			 path);
		return -EINVAL;
	}
	json_array_foreach(arr, i, b)
	{
		ret = attach_rep(run, b);
		if (ret < 0)
			break;
	}
	json_decref(doc);
	return ret < 0 ? run_nomem(err, errlen) : 0;
}

#define REP_MAX_HARNESS 1024 /* sizes in harness_ns_per_msg: a run measures a handful */

/* A message size as env.json's keys spell it: decimal digits, no leading zero, 63 bits. */
static long parse_dec_size(const char *s)
{
	size_t n = strlen(s);
	char *end;
	long v;

	if (n == 0 || n > 19 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return (errno || *end) ? -1 : v;
}

static int env_refuse(char *err, size_t errlen, const char *path, const char *key,
		      const char *allowed)
{
	snprintf(err, errlen, "%s: \"%s\" is not allowed; allowed: %s", path, key, allowed);
	return -EINVAL;
}

/* A number of env.json that must be finite and >= 0 (jansson refuses NaN and inf already). */
static bool env_num_ok(const json_t *v)
{
	return json_is_number(v) && isfinite(json_number_value(v)) && json_number_value(v) >= 0;
}

struct harness_ent {
	long size;
	double ns;
};

static int cmp_harness(const void *a, const void *b)
{
	const struct harness_ent *x = a, *y = b;

	return (x->size > y->size) - (x->size < y->size);
}

/* harness_ns_per_msg: {"64": 12.5, ...}, read into run->harness_* sorted by size. */
static int load_harness(struct rep_run *run, const json_t *h, const char *path, char *err,
			size_t errlen)
{
	struct harness_ent *e;
	const char *allowed = "an object of message sizes in bytes (decimal digits) to ns, each "
			      "a finite number >= 0";
	const char *k;
	json_t *v;
	size_t n = 0;

	if (!json_is_object(h) || json_object_size(h) > REP_MAX_HARNESS)
		return env_refuse(err, errlen, path, "harness_ns_per_msg", allowed);
	e = calloc(json_object_size(h) + 1, sizeof(*e));
	run->harness_size = calloc(json_object_size(h) + 1, sizeof(*run->harness_size));
	run->harness_ns = calloc(json_object_size(h) + 1, sizeof(*run->harness_ns));
	if (!e || !run->harness_size || !run->harness_ns) {
		free(e);
		return run_nomem(err, errlen);
	}
	json_object_foreach((json_t *)h, k, v)
	{
		e[n].size = parse_dec_size(k);
		if (e[n].size < 0 || !env_num_ok(v)) {
			char buf[64];

			snprintf(err, errlen,
				 "%s: harness_ns_per_msg: '%s' is not allowed; allowed: %s", path,
				 run_shown(k, buf, sizeof(buf)), allowed);
			free(e);
			return -EINVAL;
		}
		e[n++].ns = json_number_value(v);
	}
	qsort(e, n, sizeof(*e), cmp_harness);
	for (size_t i = 0; i < n; i++) {
		run->harness_size[i] = e[i].size;
		run->harness_ns[i] = e[i].ns;
	}
	run->nharness = n;
	free(e);
	return 0;
}

/*
 * The keys of env.json the report computes with, checked like results.csv:
 * clocksource a string (run_shown escaped, never drawn), tsc_invariant a
 * boolean, timer_cost_ns a number >= 0, harness_ns_per_msg by size.  Each
 * may be absent (older runs, other architectures).
 */
int run_check_env(struct rep_run *run, const char *path, char *err, size_t errlen)
{
	const json_t *v;

	v = json_object_get(run->env, "clocksource");
	if (v && !json_is_string(v))
		return env_refuse(err, errlen, path, "clocksource", "a string");
	v = json_object_get(run->env, "tsc_invariant");
	if (v && !json_is_boolean(v))
		return env_refuse(err, errlen, path, "tsc_invariant", "true or false");
	v = json_object_get(run->env, "timer_cost_ns");
	if (v && !env_num_ok(v))
		return env_refuse(err, errlen, path, "timer_cost_ns", "a finite number >= 0");
	v = json_object_get(run->env, "harness_ns_per_msg");
	return v ? load_harness(run, v, path, err, errlen) : 0;
}
