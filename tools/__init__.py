"""Development tools outside the pipeline: the benchmark and the surge detectors' sweep.

They import the pipeline and the demo world; nothing in the pipeline imports them."""
