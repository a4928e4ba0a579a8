# Round-trip latency (p50 solid, p99 dashed) against message size, one line per
# backend, log-log; the floor (shared-memory ping-pong) is the black line without points.
# in: data prefix (IN.vars: XMIN, XMAX; IN.txt: B (backends, "floor" last when measured),
#     PLACEMENT; IN.tics: size tics;
#     IN_<backend>.csv: size,p50,p99 in ns)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placement, ...) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (B = strcol(2), PLACEMENT = strcol(3), 0) nooutput
set datafile separator comma
set logscale x 2
set logscale y 10
# Room above and below: a point on a decade boundary would sit on the axis.
set offsets 0, 0, graph 0.04, graph 0.04
TICS_FILE = in.".tics"
TICS_AXIS = "x"
load "tics.gp"
set xrange [XMIN:XMAX]
set format y "%.0s %cs"
set xlabel "message size"
set ylabel "round-trip latency"
set title "Round-trip latency against message size (".PLACEMENT.")"
f(b) = sprintf("%s_%s.csv", in, b)
isf(b) = b eq "floor"
do for [fmt in FORMATS] {
	load "term.gp"
	plot for [i=1:words(B)] f(word(B,i)) using 1:($2*1e-9) with linespoints \
		lc rgb bcolor(word(B,i)) pt bpoint(word(B,i)) ps 1.1-1.1*isf(word(B,i)) \
		lw 2+0.5*isf(word(B,i)) dt 1 title word(B,i)." p50", \
	     for [i=1:words(B)] f(word(B,i)) using 1:($3*1e-9) with lines \
		lc rgb bcolor(word(B,i)) dt 2 lw 1.5 notitle, \
	     NaN with lines lc rgb "#777777" dt 2 lw 1.5 title "p99 (dashed)"
	unset output
}
