# Comparison with a base run: for every cell, how many times faster this run
# is than the base (a bar from 1: right is faster, left is slower), coloured by
# the verdict of the test on the repetitions.  Horizontal bars, so that the
# names of many cells stay readable.
# in: data prefix (IN.vars: NCELLS, YMAX (axis extent); IN.txt: BASE, CUR (run names);
#     IN.tics: index, cell label; IN.csv: index,speedup,rgb (0xRRGGBB of the verdict))
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placement, ...) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (BASE = strcol(2), CUR = strcol(3), 0) nooutput
set datafile separator comma
W = 1100
H = NCELLS * 20 + 170 < 420 ? 420 : NCELLS * 20 + 170
set logscale x 2
set xrange [1.0/YMAX:YMAX]
set format x "%g×"
TICS_FILE = in.".tics"
TICS_AXIS = "y"
load "tics.gp"
set ytics noenhanced font ",10" scale 0
set yrange [NCELLS-0.4:-0.6]
set grid xtics noytics
set xlabel "speed relative to the base run (> 1: faster, < 1: slower)"
set title "Each cell of ".CUR." against ".BASE noenhanced
set style fill solid 0.85 border rgb "#444444"
set arrow from 1, graph 0 to 1, graph 1 nohead lc rgb "#333333" front
set key below horizontal
set bmargin 6
# A label of the other side is put beyond the x range rather than made NaN:
# gnuplot 5.4.4 crashes on a `with labels` plot whose only point is undefined
# (a comparison of one cell).
do for [fmt in FORMATS] {
	load "term.gp"
	plot in.".csv" using (1):1:($2<1?$2:1):($2<1?1:$2):($1-0.36):($1+0.36):3 \
		with boxxyerror lc rgb variable notitle, \
	     in.".csv" using ($2>=1?$2*1.04:YMAX*16):1:(sprintf("%.2f×",$2)) with labels left \
		font ",9" notitle, \
	     in.".csv" using ($2<1?$2/1.04:YMAX*16):1:(sprintf("%.2f×",$2)) with labels right \
		font ",9" notitle, \
	     NaN with boxes lc rgb "#009E73" title "faster", \
	     NaN with boxes lc rgb "#D55E00" title "slower", \
	     NaN with boxes lc rgb "#BBBBBB" title "within noise"
	unset output
}
