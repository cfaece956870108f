"""Surrogate training data for DeePAQ: clean clips coded by real codecs (PyAV), labelled by ViSQOL v3."""

RATE = 48000  # references and coded clips are compared at ViSQOL's audio-mode rate
CODECS = ("opus", "mp3", "aac")
BITRATES = (16, 32, 48, 64, 80, 96, 128)  # kbps, DeePAQ's set
