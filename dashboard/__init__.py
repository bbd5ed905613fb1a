"""UI helpers the pages call, one job per module (README.md, "Architecture", maps them), and
figures (figures/: data in, plotly Figure out).

The library (als_core) never imports anything from here.
"""
