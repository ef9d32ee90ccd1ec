"""python -m bench: build (or reuse) the dataset, measure, print the table, write results.json."""
import sys

from bench.run import main

sys.exit(main())
