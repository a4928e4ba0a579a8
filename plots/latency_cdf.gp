# Cumulative distribution of round-trip latency per backend at one size, from
# histograms.csv (bucket upper bounds), log x.
# in: data prefix (IN.txt: B, PLACEMENT, SIZE; IN_<backend>.csv: bucket_ns,fraction)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
# Texts (backends, placement, ...) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (B = strcol(2), PLACEMENT = strcol(3), SIZE = strcol(4), 0) nooutput
set datafile separator comma
set logscale x 10
set format x "%.0s %cs"
set yrange [0:1.02]
set ytics 0.1
set format y "%.1f"
set xlabel "round-trip latency"
set ylabel "fraction of round trips ≤ latency"
set title "Latency distribution (CDF) at ".SIZE." (".PLACEMENT.")"
set key inside bottom right
f(b) = sprintf("%s_%s.csv", in, b)
do for [fmt in FORMATS] {
	load "term.gp"
	plot for [i=1:words(B)] f(word(B,i)) using ($1*1e-9):2 with steps \
		lc rgb bcolor(word(B,i)) lw 2 title word(B,i)
	unset output
}
