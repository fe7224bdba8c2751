"""Developer tooling: benchmarks (`make bench`), load tests (`make loadtest`), NLU evaluation and
helpers the tests share. The runtime (`bot/`, `actions/`) never imports this package
(tests/test_import_layers.py); it is not installed with PoreGuide, only run from a checkout."""
