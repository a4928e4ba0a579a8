# One heatmap of `ipcbench map`: the p50 round trip of every ordered pair of
# CPUs, rows the CPU of the process that times, columns the one that echoes.
# in: data prefix (IN.vars: N, ZMIN, ZMAX (ns), LABELS, MARKS, HAVE1..HAVE8;
#     IN.txt: B, the backend; IN.tics: "index<TAB>CPU"; IN.csv: column,row,
#     p50 ns (NaN: not measured),relation index,1 when measured)
# out: output prefix (writes OUT.svg and OUT.png)
load "common.gp"
load in.".vars"
# Texts are data: read, never run.
set datafile separator "\t"
stats in.".txt" using (B = strcol(2), 0) nooutput
set datafile separator comma
# The relations in the order of pool/topo.h, and a mark for each (index + 1).
RELS = "same-cpu smt same-l2 same-l3 cross-l3 cross-numa cross-package none"
MARK = "6 2 4 8 10 12 3 1"
relpt(r) = int(word(MARK, int(r) + 1))
W = 820
H = 720
# The tics first: tics.gp reads its file with stats, which the ranges below would clip.
TICS_FILE = in.".tics"
TICS_AXIS = "x"
load "tics.gp"
TICS_AXIS = "y"
load "tics.gp"
set size ratio -1
set xrange [-0.5:N - 0.5]
set yrange [N - 0.5:-0.5]
set border 15 lc rgb "#555555"
unset grid
set tics scale 0
set logscale cb
set cbrange [ZMIN * 0.999e-9:ZMAX * 1.001e-9]
# Five tics spaced evenly on the log scale, from the fastest pair to the slowest.
set format cb "%.1s %cs"
set cbtics ()
do for [k = 0:4] { set cbtics add (ZMIN * 1e-9 * (ZMAX / ZMIN) ** (k / 4.0)) }
unset cblabel
# A hand-made sequential palette, light (fast) to dark (slow).
set palette defined (0 "#fff7ec", 0.2 "#fdd49e", 0.4 "#fc8d59", 0.6 "#d7301f", \
                     0.8 "#990000", 1 "#4a0000")
# Pairs not measured (NaN) leave their pixel out: grey shows through.
set object 1 rectangle from graph 0, graph 0 to graph 1, graph 1 behind fc rgb "#9e9e9e" fs solid noborder
set xlabel "CPU of the echoing process"
set ylabel "CPU of the timing process"
if (N > 16) { set xtics rotate by 90 right }
set title "p50 round trip between every pair of CPUs: ".B noenhanced
set key outside right bottom vertical Left reverse noenhanced samplen 1 spacing 1.2 box lc rgb "#cccccc"
if (LABELS || !MARKS) { unset key }
# Cell text of small maps: the value and the relation, computed from numbers only
# ($3 is read only where measured: a NaN in the expression would blank the label).
fmtns(z) = z < 1e3 ? sprintf("%.0f ns", z) : z < 1e6 ? sprintf("%.1f µs", z / 1e3) : sprintf("%.1f ms", z / 1e6)
set style textbox opaque fc rgb "#ffffff" border lc rgb "#888888" margins 2,2
# Marks of larger maps, drawn twice (dark under light) to show on every colour.
PS = N <= 32 ? 0.8 : 0.4
have(r) = value(sprintf("HAVE%d", r))
do for [fmt in FORMATS] {
	load "term.gp"
	if (LABELS) {
		plot in.".csv" using 1:2:($3 * 1e-9) with image notitle, \
			in.".csv" using 1:2:(($5 < 0.5 ? "not measured" : fmtns($3))."\n".word(RELS, int($4) + 1)) \
				with labels boxed font ",10" notitle
	} else {
		if (MARKS) {
			plot in.".csv" using 1:2:($3 * 1e-9) with image notitle, \
				in.".csv" using 1:2:(relpt($4)) with points pt variable ps PS lw 3 lc rgb "#1a1a1a" notitle, \
				in.".csv" using 1:2:(relpt($4)) with points pt variable ps PS lw 1 lc rgb "#ffffff" notitle, \
				for [r = 1:8] keyentry with points pt relpt(r - 1) lc rgb "#1a1a1a" \
					title (have(r) ? word(RELS, r) : ""), \
				keyentry with boxes fs solid fc rgb "#9e9e9e" title "not measured"
		} else {
			plot in.".csv" using 1:2:($3 * 1e-9) with image notitle
		}
	}
	unset output
}
