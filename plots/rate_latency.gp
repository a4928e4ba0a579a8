# One-way latency from each message's due time (p50 solid, p99 dashed)
# against the offered rate, one line per backend, log-log: the "hockey stick".
# A ring: max (back to back), at the rate it reached.  A cross at the top:
# an offered rate the backend did not carry (saturated: no latency to show),
# one a little above the other for each backend.
# in: data prefix (IN.vars: XMIN, XMAX, SATY; IN.txt: B (backends with lines),
#     BM (with a max cell), BS (with saturated rates), PLACEMENT, SIZE;
#     IN_<backend>.csv: rate,p50,p99 in ns; IN-max_<backend>.csv: the same, max;
#     IN-sat_<backend>.csv: offered rate)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placement, size) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (B = strcol(2), BM = strcol(3), BS = strcol(4), PLACEMENT = strcol(5), \
	SIZE = strcol(6), 0) nooutput
set datafile separator comma
set logscale x 10
set logscale y 10
set offsets 0, 0, graph 0.04, graph 0.04
set xrange [XMIN:XMAX]
set format x "%.0s%c"
set format y "%.0s %cs"
set xlabel "offered rate (messages/s)"
set ylabel "one-way latency (receive − due time)"
set title "One-way latency against offered rate (".SIZE.", ".PLACEMENT.")"
f(k, b) = sprintf("%s%s_%s.csv", in, k, b)
# An empty list still iterates once in gnuplot 5.4: then the special file "+" with no point.
g(k, L, i) = words(L) ? f(k, word(L,i)) : "+"
do for [fmt in FORMATS] {
	load "term.gp"
	plot for [i=1:words(B)] f("", word(B,i)) using 1:($2*1e-9) with linespoints \
		lc rgb bcolor(word(B,i)) pt bpoint(word(B,i)) ps 1.1 lw 2 title word(B,i)." p50", \
	     for [i=1:words(B)] f("", word(B,i)) using 1:($3*1e-9) with lines \
		lc rgb bcolor(word(B,i)) dt 2 lw 1.5 notitle, \
	     for [i=1:words(BM)] g("-max", BM, i) using 1:(words(BM) ? $2*1e-9 : NaN) with points \
		lc rgb bcolor(words(BM) ? word(BM,i) : "") pt 6 ps 2.4 lw 1.5 notitle, \
	     for [i=1:words(BS)] g("-sat", BS, i) using 1:(words(BS) ? SATY*2**(i-1) : NaN) with points \
		lc rgb bcolor(words(BS) ? word(BS,i) : "") pt 2 ps 2 lw 2.5 notitle, \
	     NaN with lines lc rgb "#777777" dt 2 lw 1.5 title "p99 (dashed)", \
	     NaN with points lc rgb "#777777" pt 6 ps 2.4 lw 1.5 title "max: back to back", \
	     NaN with points lc rgb "#777777" pt 2 ps 2 lw 2.5 title "saturated (offered rate)"
	unset output
}
