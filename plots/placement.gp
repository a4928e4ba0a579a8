# The same latency cell (p50 round trip at one size) across pair placements
# (same-cpu, same-l3, ...): one group per placement, one bar per backend.
# in: data prefix (IN.vars: YMIN (the bottom of the axis, s); IN.txt: B, SIZE;
#     IN.csv: placement,<one column per backend in B>)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placement, ...) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (B = strcol(2), SIZE = strcol(3), 0) nooutput
set datafile separator comma
set logscale y 10
set yrange [YMIN:*]
set format y "%.0s %cs"
set style data histogram
set style histogram clustered gap 1.5
set style fill solid 0.85 border rgb "#444444"
set boxwidth 0.9
set grid noxtics
set xlabel "placement of the two processes"
set ylabel "p50 round-trip latency"
set title "Placement: p50 round trip at ".SIZE
do for [fmt in FORMATS] {
	load "term.gp"
	plot for [i=1:words(B)] in.".csv" using (column(i+1)*1e-9):xtic(1) \
		lc rgb bcolor(word(B,i)) title word(B,i)
	unset output
}
