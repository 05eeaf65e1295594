module authlab/pause

go 1.22
