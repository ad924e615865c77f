"""Tools of the checkout for measuring the app: the load generator (loadgen) and the benchmarks."""
