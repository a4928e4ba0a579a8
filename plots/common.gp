# Shared by every picture (loaded through GNUPLOT_LIB = the plots directory).
# Data files are CSV written by `ipcbench report`; "?" marks a missing value.
set datafile separator comma
set datafile missing "?"
set encoding utf8
set micro
set grid xtics ytics mxtics mytics lc rgb "#e4e4e4" lw 1 dt 1
set border 3 lc rgb "#555555"
set tics nomirror out scale 0.6
set key outside right top vertical Left reverse noenhanced samplen 2.5 spacing 1.2 box lc rgb "#cccccc"
set title font ",13"

# One colour per backend in every picture (Okabe-Ito, colour-blind safe),
# defined by hand: gnuplot 5.4 has no named palettes for lines.  A backend not
# listed gets a colour from its name's length, so it is at least stable.
EXTRA = "#882255 #44AA99 #999933 #AA4499"
bcolor(b) = b eq "pipe"   ? "#0072B2" : \
            b eq "sysv"   ? "#D55E00" : \
            b eq "mqueue" ? "#009E73" : \
            b eq "shm"    ? "#CC79A7" : \
            b eq "unix"   ? "#56B4E9" : \
            b eq "tcp"    ? "#E69F00" : \
            b eq "floor"  ? "#333333" : \
            word(EXTRA, strlen(b) % words(EXTRA) + 1)
# Point types to tell lines apart in grey print too.
bpoint(b) = b eq "pipe" ? 7 : b eq "sysv" ? 5 : b eq "mqueue" ? 9 : b eq "shm" ? 13 : \
            b eq "unix" ? 3 : b eq "tcp" ? 1 : 11

# Which files each script writes: `-e "FORMATS='svg'"` for SVG only.
if (!exists("FORMATS")) FORMATS = "svg png"

# Message sizes on a log-2 axis; the tics come from the data (IN.tics, through tics.gp).
W = 960
H = 560
