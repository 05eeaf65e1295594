module authlab/bench/gohop

go 1.22
