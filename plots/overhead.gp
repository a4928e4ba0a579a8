# Overhead of each backend: its p50 round trip divided by that of the bare
# mechanism it is built on (left) and by the floor (right), against size.
# in: data prefix (IN.vars: XMIN, XMAX; IN.txt: BB and BF (backends with a bare / floor ratio),
#     PLACEMENT; IN.tics: size tics;
#     IN_<backend>.csv: size,vs_bare,vs_floor with "?" where there is nothing to divide by)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placement, ...) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (BB = strcol(2), BF = strcol(3), PLACEMENT = strcol(4), 0) nooutput
set datafile separator comma
HAVEBARE = words(BB) > 0
HAVEFLOOR = words(BF) > 0
NP = HAVEBARE + HAVEFLOOR
W = NP > 1 ? 1200 : 960
set logscale x 2
TICS_FILE = in.".tics"
TICS_AXIS = "x"
load "tics.gp"
set xrange [XMIN:XMAX]
set xlabel "message size" offset 0,0.3
set bmargin 7
set format y "%g×"
f(b) = sprintf("%s_%s.csv", in, b)
do for [fmt in FORMATS] {
	load "term.gp"
	set multiplot layout 1,NP title "Overhead of each backend (p50 round trip, ".PLACEMENT.")" font ",13"
	if (HAVEBARE) {
		set title "relative to its bare mechanism"
		set key below horizontal
		set ylabel "backend ÷ bare mechanism"
		unset logscale y
		set yrange [0:*]
		plot for [i=1:words(BB)] f(word(BB,i)) using 1:2 with linespoints \
			lc rgb bcolor(word(BB,i)) pt bpoint(word(BB,i)) ps 1.1 lw 2 title word(BB,i), \
		     1 with lines lc rgb "#777777" dt 2 title "no overhead"
	}
	if (HAVEFLOOR) {
		set title "relative to the floor (one cache line bounced)"
		set key below horizontal
		set key below horizontal width 2
		set ylabel "backend ÷ floor"
		set logscale y 10
		set yrange [*:*]
		plot for [i=1:words(BF)] f(word(BF,i)) using 1:3 with linespoints \
			lc rgb bcolor(word(BF,i)) pt bpoint(word(BF,i)) ps 1.1 lw 2 title word(BF,i)
	}
	unset multiplot
	unset output
}
