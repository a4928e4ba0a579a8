# Throughput against producers x consumers for each backend, at one message size.
# in: data prefix (IN.vars: XMIN, XMAX; IN.txt: B, PLACEMENT, SIZE; IN.tics: categories;
#     IN_<backend>.csv: index,label,msgs_per_s)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placement, ...) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (B = strcol(2), PLACEMENT = strcol(3), SIZE = strcol(4), 0) nooutput
set datafile separator comma
set logscale y 10
# Room above and below: a point on a decade boundary would sit on the axis.
set offsets 0, 0, graph 0.04, graph 0.04
TICS_FILE = in.".tics"
TICS_AXIS = "x"
load "tics.gp"
set xrange [XMIN:XMAX]
set format y "%.0s%c"
set xlabel "producers × consumers"
set ylabel "messages/s (all consumers together)"
set title "Throughput against producers × consumers (".SIZE.", ".PLACEMENT.")"
f(b) = sprintf("%s_%s.csv", in, b)
do for [fmt in FORMATS] {
	load "term.gp"
	plot for [i=1:words(B)] f(word(B,i)) using 1:3 with linespoints \
		lc rgb bcolor(word(B,i)) pt bpoint(word(B,i)) ps 1.3 lw 2 title word(B,i)
	unset output
}
