# Throughput against message size, one line per backend: messages/s (left)
# and bytes/s (right), log-log.
# in: data prefix (IN.vars: XMIN, XMAX; IN.txt: B, PLACEMENT, PC; IN.tics: size tics;
#     IN_<backend>.csv: size,msgs_per_s,bytes_per_s)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placement, ...) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (B = strcol(2), PLACEMENT = strcol(3), PC = strcol(4), 0) nooutput
set datafile separator comma
W = 1200
set logscale x 2
set logscale y 10
# Room above and below: a point on a decade boundary would sit on the axis.
set offsets 0, 0, graph 0.04, graph 0.04
TICS_FILE = in.".tics"
TICS_AXIS = "x"
load "tics.gp"
set xrange [XMIN:XMAX]
set xlabel "message size"
set key inside bottom left box opaque
f(b) = sprintf("%s_%s.csv", in, b)
do for [fmt in FORMATS] {
	load "term.gp"
	set multiplot layout 1,2 title "Throughput against message size (".PC.", ".PLACEMENT.")" font ",13"
	set title "messages per second"
	set ylabel "messages/s"
	set format y "%.0s%c"
	set key inside bottom left
	plot for [i=1:words(B)] f(word(B,i)) using 1:2 with linespoints \
		lc rgb bcolor(word(B,i)) pt bpoint(word(B,i)) ps 1.1 lw 2 title word(B,i)
	set title "bytes per second"
	set ylabel "bytes/s"
	set format y "%.0s %cB/s"
	set key inside top left
	plot for [i=1:words(B)] f(word(B,i)) using 1:3 with linespoints \
		lc rgb bcolor(word(B,i)) pt bpoint(word(B,i)) ps 1.1 lw 2 title word(B,i)
	unset multiplot
	unset output
}
