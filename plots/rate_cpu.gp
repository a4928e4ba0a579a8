# CPU time of producer and consumer per message (user + sys, the producer's
# waiting for its schedule left out) against the offered rate, one line per
# backend, log-log.  A ring: max (back to back), at the rate it reached.
# in: data prefix (IN.vars: XMIN, XMAX; IN.txt: B (backends), BM (with a max
#     cell), BS (unused), PLACEMENT, SIZE; IN_<backend>.csv: rate,cpu_ns,cpu_util;
#     IN-max_<backend>.csv: the same, max)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placement, size) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (B = strcol(2), BM = strcol(3), PLACEMENT = strcol(5), SIZE = strcol(6), \
	0) nooutput
set datafile separator comma
set logscale x 10
set logscale y 10
set offsets 0, 0, graph 0.04, graph 0.04
set xrange [XMIN:XMAX]
set format x "%.0s%c"
set format y "%.0s %cs"
set xlabel "offered rate (messages/s)"
set ylabel "CPU time per message"
set title "CPU per message against offered rate (".SIZE.", ".PLACEMENT.")"
f(k, b) = sprintf("%s%s_%s.csv", in, k, b)
# An empty list still iterates once in gnuplot 5.4: then the special file "+" with no point.
g(k, L, i) = words(L) ? f(k, word(L,i)) : "+"
do for [fmt in FORMATS] {
	load "term.gp"
	plot for [i=1:words(B)] f("", word(B,i)) using 1:($2*1e-9) with linespoints \
		lc rgb bcolor(word(B,i)) pt bpoint(word(B,i)) ps 1.1 lw 2 title word(B,i), \
	     for [i=1:words(BM)] g("-max", BM, i) using 1:(words(BM) ? $2*1e-9 : NaN) with points \
		lc rgb bcolor(words(BM) ? word(BM,i) : "") pt 6 ps 2.4 lw 1.5 notitle, \
	     NaN with points lc rgb "#777777" pt 6 ps 2.4 lw 1.5 title "max: back to back"
	unset output
}
