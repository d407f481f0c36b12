"""Problems, below both the pipeline's jobs and evaluation: the benchmark registry
(`benchmarks`; upstream hub rows mapped by `hub_rows`; the evaluation sets shipped for
offline use in `benchmark_data/`, with their sources and licences), problem sources for
generation (`sources`), and cleaning, decontamination and deduplication (`clean`). The
synthetic families live in `pipeline.synthetic`."""
