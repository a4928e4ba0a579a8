# Throughput against producers x consumers for each backend, at one message size.
# in: data prefix (IN.vars sets B, XTICS (categories), SIZE, PLACEMENT;
#     IN_<backend>.csv: index,label,msgs_per_s)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
set logscale y 10
# Room above and below: a point on a decade boundary would sit on the axis.
set offsets 0, 0, graph 0.04, graph 0.04
eval XTICS
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
