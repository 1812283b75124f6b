// Constrained search (see the files beside this one).
