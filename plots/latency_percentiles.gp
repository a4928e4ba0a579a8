# Latency percentiles (p50, p90, p99, p99.9, max) per backend at one size, as
# grouped bars: one group per percentile, one bar per backend.
# in: data prefix (IN.vars: YMIN (the bottom of the axis, s); IN.txt: B, PLACEMENT, SIZE;
#     IN.csv: label,<one column per backend in B>)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placement, ...) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (B = strcol(2), PLACEMENT = strcol(3), SIZE = strcol(4), 0) nooutput
set datafile separator comma
set logscale y 10
set yrange [YMIN:*]
set format y "%.0s %cs"
set style data histogram
set style histogram clustered gap 1.5
set style fill solid 0.85 border rgb "#444444"
set boxwidth 0.9
set grid noxtics
set xlabel "percentile of round trips"
set ylabel "round-trip latency"
set title "Latency percentiles at ".SIZE." (".PLACEMENT.")"
do for [fmt in FORMATS] {
	load "term.gp"
	plot for [i=1:words(B)] in.".csv" using (column(i+1)*1e-9):xtic(1) \
		lc rgb bcolor(word(B,i)) title word(B,i)
	unset output
}
