# Opens output `out`.`fmt` (fmt is svg or png) at W x H pixels.
if (fmt eq "svg") {
	set terminal svg size W,H fixed enhanced font "DejaVu Sans,12" background rgb "white"
} else {
	set terminal pngcairo size W,H enhanced font "DejaVu Sans,11" background rgb "white"
}
set output out.".".fmt
