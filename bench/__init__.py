"""The benchmark run by `make bench`: a 200,000-load dataset, each figure beside its floor."""
