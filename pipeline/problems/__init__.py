"""Problems, below both the pipeline's jobs and evaluation: the benchmark registry
(`benchmarks`), problem sources for generation (`sources`), and cleaning, decontamination
and deduplication (`clean`). The synthetic families live in `pipeline.synthetic`."""
