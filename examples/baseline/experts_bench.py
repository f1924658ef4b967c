#!/usr/bin/python3
"""torch peer of `moeflux bench experts`: one rank's SwiGLU experts on the same shapes and routing.

Each token picks --topk distinct experts uniformly at random with the rule moeflux uses
(io.moeflux.cli.bench.UniformPicks): a SplitMix64 stream from --seed; per token a partial
Fisher-Yates shuffle of 0..E-1 (j = k + next() mod (E - k)), then --topk weights
((next() >> 40) + 1) / 2^24 normalised to sum 1. The same seed gives the same picks on both sides
(routing_checksum says so).

A timed step, as moeflux's: group the picks by expert (stable argsort), gather each expert's rows
(index_select), its SwiGLU with the gate and up projections fused in one matrix
(silu(x W1^T) * (x W3^T)), the down projection, and the weighted sum back into the tokens
(index_add_). Weights are uniform in +-1/sqrt(fan_in), float32 (or bfloat16 with --dtype bf16).

Fields over the median step: gflops counts 2 * 3 * hidden * intermediate per (token, pick);
weight_bytes_per_s the weights of the experts that received rows. A human line, then one JSON
object as the last line.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

MASK64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def uniform_picks(seed, tokens, experts, topk):
    rng = SplitMix64(seed)
    ids, weights = [], []
    for _ in range(tokens):
        order = list(range(experts))
        for k in range(topk):
            j = k + rng.next() % (experts - k)
            order[k], order[j] = order[j], order[k]
        raw = [((rng.next() >> 40) + 1) / float(1 << 24) for _ in range(topk)]
        total = sum(raw)
        ids.append(order[:topk])
        weights.append([r / total for r in raw])
    return ids, weights


def routing_checksum(ids):
    h = 0
    for row in ids:
        for e in row:
            h = (h * 31 + e) & 0xFFFFFFFF
    return h


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hidden", type=int, default=1024, help="hidden size (default 1024)")
    p.add_argument("--intermediate", type=int, default=512, help="expert intermediate size (default 512)")
    p.add_argument("--num-experts", type=int, default=8, help="routed experts (default 8)")
    p.add_argument("--tokens", type=int, default=128, help="tokens per step (default 128)")
    p.add_argument("--topk", type=int, default=8, help="experts per token (default 8)")
    p.add_argument("--dtype", choices=["f32", "bf16"], default="f32", help="weights (default f32)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--steps", type=int, default=30, help="measured steps (default 30)")
    p.add_argument("--warmup", type=int, default=10, help="steps before measuring (default 10)")
    p.add_argument("--seed", type=int, default=1, help="routing and weight seed (default 1)")
    p.add_argument("--json", action="store_true", help="only the JSON line")
    return p.parse_args()


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    h, n, e, t, k = a.hidden, a.intermediate, a.num_experts, a.tokens, a.topk
    dtype = torch.float32 if a.dtype == "f32" else torch.bfloat16
    g = torch.Generator().manual_seed(a.seed)
    w13 = [((torch.rand(2 * n, h, generator=g) * 2 - 1) / h ** 0.5).to(dtype) for _ in range(e)]
    w2 = [((torch.rand(h, n, generator=g) * 2 - 1) / n ** 0.5).to(dtype) for _ in range(e)]
    x = (torch.rand(t, h, generator=g) * 2 - 1).to(dtype)
    ids_list, weights_list = uniform_picks(a.seed, t, e, k)
    ids = torch.tensor(ids_list, dtype=torch.int64)
    weights = torch.tensor(weights_list, dtype=torch.float32).to(dtype)
    out = torch.zeros(t, h, dtype=dtype)

    def step():
        flat = ids.reshape(-1)
        order = torch.argsort(flat, stable=True)
        counts = torch.bincount(flat, minlength=e).tolist()
        token_of = order // k
        picked = weights.reshape(-1)[order]
        out.zero_()
        start = 0
        for expert in range(e):
            c = counts[expert]
            if c == 0:
                continue
            rows = token_of[start:start + c]
            xe = x.index_select(0, rows)
            gate_up = F.linear(xe, w13[expert])
            y = F.linear(F.silu(gate_up[:, :n]) * gate_up[:, n:], w2[expert])
            out.index_add_(0, rows, y * picked[start:start + c, None])
            start += c

    times = []
    with torch.inference_mode():
        for s in range(a.warmup + a.steps):
            begin = time.perf_counter_ns()
            step()
            took = time.perf_counter_ns() - begin
            if s >= a.warmup:
                times.append(took)
    times.sort()
    p50 = statistics.median(times) / 1e9
    p99 = times[min(len(times) - 1, max(0, -(-99 * len(times) // 100) - 1))] / 1e9
    active = int((torch.bincount(ids.reshape(-1), minlength=e) > 0).sum())
    gflops = 2 * 3 * h * n * t * k / p50 / 1e9
    weight_bytes = active * 3 * h * n * (4 if a.dtype == "f32" else 2)
    blas = "openblas" if "openblas" in torch.__config__.show().lower() else "blas"
    result = {
        "bench": "experts",
        "kernel": "torch %s %s, %d thread(s)" % (torch.__version__, a.dtype, torch.get_num_threads()),
        "dtype": a.dtype,
        "hidden": h,
        "intermediate": n,
        "num_experts": e,
        "tokens": t,
        "topk": k,
        "threads": a.threads,
        "active_experts": active,
        "routing_checksum": routing_checksum(ids_list),
        "steps": a.steps,
        "step_p50_us": round(p50 * 1e6),
        "step_p99_us": round(p99 * 1e6),
        "gflops": round(gflops, 2),
        "weight_bytes_per_s": round(weight_bytes / p50),
    }
    if not a.json:
        print("torch %s, %s weights, %d tokens x top-%d of %d experts (hidden %d, intermediate %d): "
              "step p50 %d us, %.1f GFLOP/s, %.2f GB/s of weights"
              % (torch.__version__, a.dtype, t, k, e, h, n, result["step_p50_us"], gflops,
                 weight_bytes / p50 / 1e9))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
