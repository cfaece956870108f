"""Surrogate training data for DeePAQ: clean clips coded by real codecs (PyAV), labelled by ViSQOL v3."""
