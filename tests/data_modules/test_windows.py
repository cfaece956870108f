"""Evaluation windows: fixed size, last aligned to the end, weights = newly covered samples."""

import numpy as np

from data_modules.windows import eval_windows, window_mean


def test_short_clip_is_one_window():
    assert eval_windows(700, 1000) == [(0, 700, 700)]
    assert eval_windows(1000, 1000) == [(0, 1000, 1000)]


def test_long_clip_windows():
    windows = eval_windows(2500, 1000)
    assert windows == [(0, 1000, 1000), (1000, 1000, 1000), (1500, 1000, 500)]
    for length in (1001, 1999, 2000, 2001, 12345):
        windows = eval_windows(length, 1000)
        assert all(size == 1000 for _, size, _ in windows)
        assert windows[-1][0] + 1000 == length
        assert sum(w for *_, w in windows) == length
        covered = np.zeros(length, int)
        for start, size, _ in windows:
            covered[start : start + size] = 1
        assert covered.all()


def test_combine_is_length_weighted_mean():
    scores = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(window_mean(scores, [3, 1]), [1.5, 2.5])


def test_window_mean_per_clip_and_empty_clip():
    values = np.array([[1.0], [3.0], [10.0]])
    out = window_mean(values, [1, 3, 2], clips=[0, 0, 2], n_clips=3)
    np.testing.assert_allclose(out[[0, 2], 0], [2.5, 10.0])
    assert np.isnan(out[1, 0])  # clip 1 had no window
