"""UI helpers shared by the pages: session state and cached calls (state.py), figures (figures/).

The library (als_core) never imports anything from here.
"""
