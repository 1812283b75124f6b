// Probe tasks, budget-adaptive evaluation and zero-cost proxies (see the files beside this one).
