"""Work on a batch shared among threads: complete, in order, independent of the thread count."""
import multiprocessing
import threading

import numpy as np
import pytest

import minizf.functional.chunks as chunks
from minizf.functional import (conv2d, conv2d_backward, conv2d_backward_input, linear, linear_backward,
                               lrn, lrn_backward, max_pool2d, relu, relu_backward, unpool)


@pytest.fixture
def threads(monkeypatch):
    """Set the thread count for one test (MINIZF_THREADS)."""
    return lambda n: monkeypatch.setenv("MINIZF_THREADS", str(n))


@pytest.mark.parametrize("n_threads,n_items", [(1, 5), (3, 7), (4, 2), (3, 0)])
def test_shares_are_contiguous_and_cover_every_item_once(threads, n_threads, n_items):
    threads(n_threads)
    items = list(range(n_items))
    shares = chunks.map_shares(list, items)
    assert sum(shares, []) == items
    assert len(shares) == max(1, min(n_threads, n_items))
    assert all(shares) or n_items == 0


def test_shares_run_on_different_threads_at_once(threads):
    threads(2)
    both_inside = threading.Barrier(2, timeout=10)    # breaks (and fails) unless two shares overlap

    def share(items):
        both_inside.wait()
        return threading.get_ident()
    assert len(set(chunks.map_shares(share, [1, 2]))) == 2


def test_an_error_in_a_share_is_raised_after_every_share_ended(threads):
    threads(3)
    ended = []

    def share(items):
        if items == [0]:
            raise ValueError("share 0 failed")
        threading.Event().wait(0.05)
        ended.append(items)
    with pytest.raises(ValueError, match="share 0 failed"):
        chunks.map_shares(share, [0, 1, 2])
    assert sorted(ended) == [[1], [2]]


def test_work_started_inside_a_share_runs_in_place(threads):
    threads(2)
    outer = chunks.map_shares(lambda items: chunks.map_shares(lambda inner: threading.get_ident(), items),
                              [1, 2, 3, 4])
    assert [len(inner) for inner in outer] == [1, 1]      # inner calls did not split again


def test_matrix_products_inside_a_share_use_one_blas_thread(threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    before = blas_threads()
    threads(2)
    assert before, "threadpoolctl finds no BLAS library"
    inside = chunks.map_shares(lambda items: blas_threads(), [1, 2])
    assert len(inside) == 2 and all(share == [1] * len(before) for share in inside)
    assert blas_threads() == before                       # restored afterwards


def _ops(dtype=np.float64):
    """Every threaded op, on a batch of 7 cut into one-image chunks."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 5, 9, 9)).astype(dtype)
    W = rng.standard_normal((6, 5, 3, 3)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    dy = rng.standard_normal((7, 6, 5, 5)).astype(dtype)
    pooled, switches = max_pool2d(x, 3, 2, 0, True)
    flat, Wl = x.reshape(7, -1), rng.standard_normal((4, 405)).astype(dtype)
    return {
        "conv": conv2d(x, W, b, 2, 1),
        "conv backward": conv2d_backward(dy, x, W, 2, 1),
        "transposed conv": conv2d_backward_input(dy, W, x.shape, 2, 1),
        "relu": relu(x), "relu backward": relu_backward(dy, dy[::-1]),
        "pool": (pooled, switches), "unpool": unpool(pooled, switches, x.shape),
        "lrn": lrn(x, 5, 1.0, 0.75, 1.0), "lrn backward": lrn_backward(x[::-1], x, 5, 1.0, 0.75, 1.0),
        "linear": linear(flat, Wl, b[:4]), "linear backward": linear_backward(flat[:, :4], flat, Wl),
    }


def test_every_op_gives_the_same_result_on_one_thread_or_several(threads, monkeypatch):
    monkeypatch.setattr(chunks, "COL_BUFFER_BYTES", 1)     # one image per chunk: many shares
    monkeypatch.setattr(chunks, "CACHE_CHUNK_BYTES", 1)
    threads(1)
    serial = _ops()
    threads(3)
    parallel = _ops()
    for name in serial:
        as_tuple = (lambda v: v if isinstance(v, tuple) else (v,))
        for i, (a, b) in enumerate(zip(as_tuple(serial[name]), as_tuple(parallel[name]), strict=True)):
            if name.endswith("backward") and i > 0:
                # dW and db: sums over the batch, added share by share in another order
                np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=name)
            else:                    # image by image: identical to the last bit
                np.testing.assert_array_equal(b, a, err_msg=name)


def _convolve_in_child(queue):
    x = np.ones((4, 3, 8, 8), dtype=np.float32)
    queue.put(float(conv2d(x, np.ones((2, 3, 3, 3), dtype=np.float32), None, 1, 1).sum()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_a_forked_process_still_computes(threads, monkeypatch):
    threads(2)
    monkeypatch.setattr(chunks, "COL_BUFFER_BYTES", 1)     # one image per chunk: the pool is used
    x = np.ones((4, 3, 8, 8), dtype=np.float32)
    expected = float(conv2d(x, np.ones((2, 3, 3, 3), dtype=np.float32), None, 1, 1).sum())  # pool started
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_convolve_in_child, args=(queue,))
    child.start()
    child.join(timeout=30)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child hung waiting for its parent's threads"
    assert queue.get(timeout=5) == expected


def test_a_bad_thread_count_is_a_clear_error(threads):
    threads("many")
    with pytest.raises(ValueError, match="MINIZF_THREADS"):
        chunks.num_threads()
