/* SPDX-License-Identifier: MIT */
/*
 * The pictures against message size and producers x consumers: latency,
 * throughput, overhead against the bare mechanism and the floor, CPU time
 * per message (draw.c has the helpers and how a picture is drawn).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "draw_pvt.h"

int pic_latency_vs_size(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pl = choose_placement(x, "latency", x->placement);
	struct lines l = {"latency", pl, 1, 1, lat_row}, fl = {"floor", pl, 1, 1, lat_row};
	long *sizes = x->sizes, *fsizes = x->sizes + x->run->ncells;
	size_t ns, nfs;
	char blist[BLIST_LEN] = "";

	if (!pl)
		return not_drawn(p, "no latency cell measured");
	ns = line_sizes(x, &l, sizes);
	if (write_lines(x, p->name, &l, sizes, ns, blist, sizeof(blist)) < 0)
		goto io;
	/* The floor, per size where measured; measured at one size only, it is drawn across. */
	nfs = line_sizes(x, &fl, fsizes);
	if (nfs > 0) {
		FILE *f = open_data(x, p->name, "_floor.csv");
		const struct rep_cell *last = NULL;

		if (!f)
			goto io;
		for (size_t i = 0; i < nfs; i++) {
			last = find_cell(x, "floor", "floor", fsizes[i], 1, 1, pl);
			if (last)
				put_row(f, last->size, last->lat[LAT_P50], last->lat[LAT_P99]);
		}
		if (nfs == 1 && last && ns > 1) {
			for (size_t i = 0; i < 2; i++)
				put_row(f, sizes[i ? ns - 1 : 0], last->lat[LAT_P50],
					last->lat[LAT_P99]);
		}
		if (fclose(f))
			goto io;
		add_word(blist, sizeof(blist), "floor");
	}
	if (size_axis_vars(x, p->name, sizes, ns) < 0 || write_text(x, p->name, 2, blist, pl) < 0)
		goto io;
	return 0;
io:
	return data_err();
}

int pic_throughput_vs_size(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pl = choose_placement(x, "throughput", x->placement);
	long *sizes = x->sizes;
	size_t ns = 0;
	int pp = 1, cc = 1;
	char blist[BLIST_LEN] = "", pc[32];

	if (!pl)
		return not_drawn(p, "no throughput cell measured");
	/* One producer and one consumer when measured, else the first P x C there is. */
	bool have11 = false;

	for (size_t i = 0; i < x->run->ncells && !have11; i++) {
		const struct rep_cell *c = &x->run->cells[i];

		if (ok_at(c, "throughput", pl)) {
			if (c->producers == 1 && c->consumers == 1)
				have11 = true;
			else if (pp == 1 && cc == 1)
				pp = c->producers, cc = c->consumers;
		}
	}
	if (have11)
		pp = cc = 1;
	struct lines l = {"throughput", pl, pp, cc, tput_row};

	ns = line_sizes(x, &l, sizes);
	if (write_lines(x, p->name, &l, sizes, ns, blist, sizeof(blist)) < 0)
		goto io;
	snprintf(pc, sizeof(pc), "%dx%d", pp, cc);
	if (size_axis_vars(x, p->name, sizes, ns) < 0 ||
	    write_text(x, p->name, 3, blist, pl, pc) < 0)
		goto io;
	return 0;
io:
	return data_err();
}

struct pc {
	long size;
	int p, c;
};

/* By size, then by P x C (products at most 4096 x 4096: no overflow), P, C. */
static int cmp_pc(const void *a, const void *b)
{
	const struct pc *x = a, *y = b;

	if (x->size != y->size)
		return (x->size > y->size) - (x->size < y->size);
	if (x->p * x->c != y->p * y->c)
		return x->p * x->c - y->p * y->c;
	return x->p != y->p ? x->p - y->p : x->c - y->c;
}

/*
 * The distinct (size, P x C) of ok throughput cells at PL, sorted, into OUT
 * (room for one per cell).  Returns how many.
 */
static size_t pcs_at(const struct draw_ctx *x, const char *pl, struct pc *out)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < x->run->ncells; i++) {
		const struct rep_cell *c = &x->run->cells[i];

		if (ok_at(c, "throughput", pl))
			out[n++] = (struct pc){c->size, c->producers, c->consumers};
	}
	qsort(out, n, sizeof(*out), cmp_pc);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || cmp_pc(&out[k - 1], &out[i]))
			out[k++] = out[i];
	return k;
}

int pic_throughput_vs_pc(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pl = choose_placement(x, "throughput", x->placement);
	struct pc *all, *pcs = NULL;
	size_t npc = 0, nall;
	char blist[BLIST_LEN] = "", sl[32];

	if (!pl)
		return not_drawn(p, "no throughput cell measured");
	all = per_cell(x, sizeof(*all));
	if (!all)
		goto io;
	nall = pcs_at(x, pl, all);
	/* The size with the most P x C, 64 bytes among equals, else the smallest. */
	for (size_t i = 0, j; i < nall; i = j) {
		for (j = i; j < nall && all[j].size == all[i].size;)
			j++;
		if (j - i > npc || (j - i == npc && all[i].size == 64)) {
			npc = j - i;
			pcs = &all[i];
		}
	}
	if (npc < 2) {
		free(all);
		return not_drawn(p, "the run has one producers × consumers configuration only");
	}
	for (size_t b = 0; b < x->nbackends; b++) {
		FILE *f = NULL;

		for (size_t k = 0; k < npc; k++) {
			const struct rep_cell *c = find_cell(x, "throughput", x->backends[b],
							     pcs[0].size, pcs[k].p, pcs[k].c, pl);

			if (!c)
				continue;
			if (!f &&
			    !(f = open_series(x, p->name, x->backends[b], blist, sizeof(blist))))
				goto io;
			fprintf(f, "%zu,%dx%d,", k, pcs[k].p, pcs[k].c);
			fmt_val(f, c->msgs_per_s);
			fputc('\n', f);
		}
		if (f && fclose(f))
			goto io;
	}
	FILE *t = open_tics(x, p->name);

	if (!t)
		goto io;
	for (size_t k = 0; k < npc; k++) {
		char l[32];

		snprintf(l, sizeof(l), "%d×%d", pcs[k].p, pcs[k].c);
		put_tic(t, (double)k, l);
	}
	if (fclose(t))
		goto io;
	rep_size_label(pcs[0].size, sl, sizeof(sl));
	if (write_vars(x, p->name, 2, "XMIN", -0.4, "XMAX", (double)npc - 0.6) < 0 ||
	    write_text(x, p->name, 3, blist, pl, sl) < 0)
		goto io;
	free(all);
	return 0;
io:
	free(all);
	return data_err();
}

int pic_overhead(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pl = choose_placement(x, "latency", x->placement);
	long *sizes = x->sizes;
	size_t ns = 0;
	char bb[BLIST_LEN] = "", bf[BLIST_LEN] = "";

	if (!pl)
		return not_drawn(p, "no latency cell measured");
	for (size_t b = 0; b < x->nbackends; b++) {
		FILE *f = NULL;
		bool vs_bare = false, vs_floor = false;

		for (size_t i = 0; i < x->run->ncells; i++) {
			const struct rep_cell *c = &x->run->cells[i], *bare, *floor;

			if (!ok_at(c, "latency", pl) || strcmp(c->backend, x->backends[b]) ||
			    c->producers != 1 || c->consumers != 1)
				continue;
			bare = find_cell(x, "bare", c->backend, c->size, 1, 1, pl);
			floor = find_floor(x, c->size, pl);
			if (!bare && !floor)
				continue;
			if (!f && !(f = open_series(x, p->name, x->backends[b], NULL, 0)))
				goto io;
			put_row(f, c->size, bare ? c->lat[LAT_P50] / bare->lat[LAT_P50] : NAN,
				floor ? c->lat[LAT_P50] / floor->lat[LAT_P50] : NAN);
			vs_bare |= bare != NULL;
			vs_floor |= floor != NULL;
			sizes[ns++] = c->size;
		}
		if (f && fclose(f))
			goto io;
		if (vs_bare)
			add_word(bb, sizeof(bb), x->backends[b]);
		if (vs_floor)
			add_word(bf, sizeof(bf), x->backends[b]);
	}
	if (!bb[0] && !bf[0])
		return not_drawn(p, "the run has neither bare-mechanism nor floor cells at %s", pl);
	ns = uniq_sizes(sizes, ns);
	if (size_axis_vars(x, p->name, sizes, ns) < 0 || write_text(x, p->name, 3, bb, bf, pl) < 0)
		goto io;
	return 0;
io:
	return data_err();
}

/*
 * One panel of cpu_per_msg: for each backend, data/NAME_BACKEND.csv with
 * size,cpu_ns,cpu_util of its ok 1 x 1 MODE cells at PL that have a CPU
 * figure, sorted by size; the backends drawn go into BLIST, the sizes into
 * SIZES from *NS on.  Returns 0 or -errno.
 */
static int cpu_panel(struct draw_ctx *x, const char *name, const char *mode, const char *pl,
		     char *blist, size_t len, long *sizes, size_t *ns)
{
	struct lines l = {mode, pl, 1, 1, cpu_row};
	size_t n = pl ? line_sizes(x, &l, sizes + *ns) : 0;
	int ret = write_lines(x, name, &l, sizes + *ns, n, blist, len);

	*ns += n;
	return ret;
}

/*
 * CPU time of all a cell's processes per message against size: latency
 * cells (per round trip) on the left, 1 x 1 throughput cells on the right,
 * each at its own main placement.
 */
int pic_cpu_per_msg(struct draw_ctx *x, struct rep_picture *p)
{
	const char *pll = choose_placement(x, "latency", x->placement);
	const char *plt = choose_placement(x, "throughput", x->placement);
	char bl[BLIST_LEN] = "", bt[BLIST_LEN] = "";
	long *sizes = x->sizes;
	size_t ns = 0;

	if (!x->run->have_cpu)
		return not_drawn(p, "the run has no CPU columns");
	if (cpu_panel(x, "cpu_per_msg_lat", "latency", pll, bl, sizeof(bl), sizes, &ns) < 0 ||
	    cpu_panel(x, "cpu_per_msg_tput", "throughput", plt, bt, sizeof(bt), sizes, &ns) < 0)
		goto io;
	if (!bl[0] && !bt[0])
		return not_drawn(p, "no ok latency or 1×1 throughput cell has CPU values");
	ns = uniq_sizes(sizes, ns);
	if (size_axis_vars(x, p->name, sizes, ns) < 0 ||
	    write_text(x, p->name, 4, bl, bt, pll ? pll : "", plt ? plt : "") < 0)
		goto io;
	return 0;
io:
	return data_err();
}
