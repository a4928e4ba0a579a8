# CPU time of all a cell's processes (user + sys, over the timed part) per
# message against message size, one line per backend, log-log: latency cells
# per round trip (left), 1x1 throughput cells per message (right).
# in: data prefix (IN.vars: XMIN, XMAX; IN.txt: BL, BT (backends with latency / throughput
#     values), PLL, PLT (their placements); IN.tics: size tics;
#     IN_lat_<backend>.csv, IN_tput_<backend>.csv: size,cpu_ns,cpu_util)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts (backends, placements) are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (BL = strcol(2), BT = strcol(3), PLL = strcol(4), PLT = strcol(5), 0) nooutput
set datafile separator comma
HAVELAT = words(BL) > 0
HAVETPUT = words(BT) > 0
NP = HAVELAT + HAVETPUT
W = NP > 1 ? 1200 : 960
set logscale x 2
set logscale y 10
set offsets 0, 0, graph 0.04, graph 0.04
TICS_FILE = in.".tics"
TICS_AXIS = "x"
load "tics.gp"
set xrange [XMIN:XMAX]
set xlabel "message size" offset 0,0.3
set bmargin 7
set format y "%.0s %cs"
f(kind, b) = sprintf("%s_%s_%s.csv", in, kind, b)
do for [fmt in FORMATS] {
	load "term.gp"
	set multiplot layout 1,NP title "CPU time of all the cell's processes (user + sys) per message" font ",13"
	if (HAVELAT) {
		set title "latency, per round trip (".PLL.")"
		set key below horizontal
		set ylabel "CPU time per round trip"
		plot for [i=1:words(BL)] f("lat", word(BL,i)) using 1:($2*1e-9) with linespoints \
			lc rgb bcolor(word(BL,i)) pt bpoint(word(BL,i)) ps 1.1 lw 2 title word(BL,i)
	}
	if (HAVETPUT) {
		set title "throughput 1×1, per message (".PLT.")"
		set key below horizontal
		set ylabel "CPU time per message"
		plot for [i=1:words(BT)] f("tput", word(BT,i)) using 1:($2*1e-9) with linespoints \
			lc rgb bcolor(word(BT,i)) pt bpoint(word(BT,i)) ps 1.1 lw 2 title word(BT,i)
	}
	unset multiplot
	unset output
}
