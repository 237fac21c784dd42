"""The machine's f32 GEMM peak on a model's prefill shapes: the larger of torch (its own GEMM)
and numpy (the OpenBLAS its wheel carries) sgemm, with the given thread count.

    python gemm_peak.py --threads T --rows N --dims D,KV,FFN --reps R

The shapes are one Llama layer's seven matmuls for N prompt rows: q and o (D x D), k and v
(KV x D), gate and up (FFN x D), down (D x FFN). Prints one JSON line: GFLOP/s of the layer
(2 * N * sum of weight elements / best wall time over R repetitions) for each library, and the
peak, the larger of the two; and the same per CPU-second of the process (every thread), the
figure a machine shared with other jobs can still measure.
"""
import argparse
import json
import os
import time


def layer_gflops(matmul, n, shapes, reps):
    """(wall GFLOP/s of the best repetition, GFLOP per CPU-second of the process over all)."""
    best, cpu = float("inf"), time.process_time()
    for _ in range(reps):
        start = time.perf_counter()
        for x, w in shapes:
            matmul(x, w)
        best = min(best, time.perf_counter() - start)
    cpu = time.process_time() - cpu  # every thread's CPU time: what a loaded machine can still measure
    flops = sum(2.0 * n * w.shape[0] * w.shape[1] for _, w in shapes)
    return flops / best / 1e9, flops * reps / cpu / 1e9


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--rows", type=int, default=512)
    p.add_argument("--dims", default="576,192,1536")  # SmolLM2-135M: hidden, k/v width, SwiGLU width
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)  # before numpy loads its OpenBLAS
    import numpy as np
    import torch
    torch.set_num_threads(a.threads)
    d, kv, ffn = (int(v) for v in a.dims.split(","))
    out_in = [(d, d), (kv, d), (kv, d), (d, d), (ffn, d), (ffn, d), (d, ffn)]
    rng = np.random.default_rng(0)
    np_shapes = [(rng.standard_normal((a.rows, k), dtype=np.float32), rng.standard_normal((k, m), dtype=np.float32))
                 for m, k in out_in]
    torch_shapes = [(torch.from_numpy(x), torch.from_numpy(w)) for x, w in np_shapes]
    result = {"rows": a.rows, "threads": a.threads}
    for name, matmul, shapes in (("torch", torch.mm, torch_shapes), ("openblas", np.matmul, np_shapes)):
        result[f"{name}_gflops"], result[f"{name}_gflops_per_cpu_s"] = layer_gflops(matmul, a.rows, shapes, a.reps)
    result["peak_gflops"] = max(result["torch_gflops"], result["openblas_gflops"])
    result["peak_gflops_per_cpu_s"] = max(result["torch_gflops_per_cpu_s"], result["openblas_gflops_per_cpu_s"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
