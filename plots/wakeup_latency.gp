# One-way latency of one message sent after the consumer was idle for a gap
# (p50 solid, p99 dashed) against the gap, one line per backend, log-log.
# in: data prefix (IN.vars: XMIN, XMAX; IN.txt: B (backends), BM, BS (unused),
#     PLACEMENT, SIZE; IN_<backend>.csv: gap_ns,p50,p99 in ns)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placement, size) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (B = strcol(2), PLACEMENT = strcol(5), SIZE = strcol(6), 0) nooutput
set datafile separator comma
set logscale x 10
set logscale y 10
set offsets 0, 0, graph 0.04, graph 0.04
set xrange [XMIN*1e-9:XMAX*1e-9]
set format x "%.0s %cs"
set format y "%.0s %cs"
set xlabel "idle gap before the message"
set ylabel "one-way latency (receive − send)"
set title "Wake-up: the first message after an idle gap (".SIZE.", ".PLACEMENT.")"
f(b) = sprintf("%s_%s.csv", in, b)
do for [fmt in FORMATS] {
	load "term.gp"
	plot for [i=1:words(B)] f(word(B,i)) using ($1*1e-9):($2*1e-9) with linespoints \
		lc rgb bcolor(word(B,i)) pt bpoint(word(B,i)) ps 1.1 lw 2 title word(B,i)." p50", \
	     for [i=1:words(B)] f(word(B,i)) using ($1*1e-9):($3*1e-9) with lines \
		lc rgb bcolor(word(B,i)) dt 2 lw 1.5 notitle, \
	     NaN with lines lc rgb "#777777" dt 2 lw 1.5 title "p99 (dashed)"
	unset output
}
