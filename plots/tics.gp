# Sets the tics of axis TICS_AXIS ("x" or "y") from the file TICS_FILE, lines
# "position<TAB>label" written by `ipcbench report`.  The labels come from a
# run (backend names, sizes): they are read as data, never run as code.
set datafile separator "\t"
stats TICS_FILE using 1 nooutput
TICS_N = STATS_records
array TICS_X[TICS_N]
array TICS_L[TICS_N]
stats TICS_FILE using (TICS_X[int($0) + 1] = $1, TICS_L[int($0) + 1] = strcol(2), 0) nooutput
set datafile separator comma
if (TICS_AXIS eq "x") {
	set xtics () noenhanced
	do for [i = 1:TICS_N] { set xtics add (TICS_L[i] TICS_X[i]) }
} else {
	set ytics () noenhanced
	do for [i = 1:TICS_N] { set ytics add (TICS_L[i] TICS_X[i]) }
}
