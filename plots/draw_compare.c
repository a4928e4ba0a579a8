/* SPDX-License-Identifier: MIT */
/* The comparison with a base run (--compare): each cell's ratio with its verdict (compare.c). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "draw_pvt.h"

static const char *mode_short(const char *mode)
{
	return !strcmp(mode, "latency") ? "lat" : !strcmp(mode, "throughput") ? "tput" : mode;
}

int pic_compare(struct draw_ctx *x, struct rep_picture *p)
{
	const struct rep_compare *cmp = x->cmp;
	bool many_pl = false;
	double ymax = 2;
	FILE *f, *t;

	if (cmp->n == 0)
		return not_drawn(p, "no cell measured in both runs");
	for (size_t i = 1; i < cmp->n; i++)
		many_pl |= strcmp(cmp->rows[i].cur->placement, cmp->rows[0].cur->placement) != 0;
	f = open_data(x, p->name, ".csv");
	if (!f)
		goto io;
	t = open_tics(x, p->name);
	if (!t) {
		fclose(f);
		goto io;
	}
	for (size_t i = 0; i < cmp->n; i++) {
		const struct rep_compare_row *r = &cmp->rows[i];
		const struct rep_cell *c = r->cur;
		unsigned rgb = !strcmp(r->verdict, "faster")   ? 0x009E73
			       : !strcmp(r->verdict, "slower") ? 0xD55E00
							       : 0xBBBBBB;
		char sl[32], pc[32] = "", ml[48], label[200];

		fprintf(f, "%zu,", i);
		fmt_val(f, r->speedup);
		fprintf(f, ",%u\n", rgb);
		if (isfinite(r->speedup) && r->speedup > 0)
			ymax = fmax(ymax, 1.4 * fmax(r->speedup, 1 / r->speedup));
		rep_size_label(c->size, sl, sizeof(sl));
		if (c->producers != 1 || c->consumers != 1)
			snprintf(pc, sizeof(pc), " %dx%d", c->producers, c->consumers);
		/* rate and wakeup cells: one per rate or gap, told apart by it */
		rep_mode_label(c, ml, sizeof(ml));
		snprintf(label, sizeof(label), "%s %s %s%s%s%s",
			 c->offered || c->gap_ns ? ml : mode_short(c->mode), c->backend, sl, pc,
			 many_pl ? " " : "", many_pl ? c->placement : "");
		put_tic(t, (double)i, label);
	}
	if (fclose(t)) {
		fclose(f);
		goto io;
	}
	if (fclose(f) || write_vars(x, p->name, 2, "NCELLS", (double)cmp->n, "YMAX", ymax) < 0 ||
	    write_text(x, p->name, 2, rep_basename(cmp->base_dir), rep_basename(cmp->cur_dir)) < 0)
		goto io;
	return 0;
io:
	return data_err();
}
