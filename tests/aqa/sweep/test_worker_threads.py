"""A screening worker runs with one thread for OpenMP and BLAS, not only torch: two workers on two cores
with a BLAS pool each oversubscribe the cores (aqa/sweep/inprocess.py one_thread_worker)."""

import os

import pytest

from aqa.sweep import inprocess


@pytest.mark.slow  # a spawned process
def test_pool_workers_use_one_blas_and_openmp_thread():
    pool = inprocess.make_pool(1)
    try:
        env, pools = pool.submit(_threads).result(timeout=120)
    finally:
        pool.shutdown()
    assert all(env[key] == "1" for key in inprocess.ONE_THREAD), env
    assert pools and all(n == 1 for n in pools.values()), pools


def _threads() -> tuple[dict, dict]:
    """In the worker: the thread variables, and each loaded BLAS/OpenMP pool's thread count after numpy,
    scipy's BLAS and scikit-learn are loaded (as a trial loads them)."""
    import numpy as np
    import scipy.linalg  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_info

    np.ones((4, 4)) @ np.ones((4, 4))
    env = {key: os.environ.get(key) for key in inprocess.ONE_THREAD}
    return env, {info["filepath"]: info["num_threads"] for info in threadpool_info()}
