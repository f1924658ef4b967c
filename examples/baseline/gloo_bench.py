#!/usr/bin/python3
"""torch.distributed (gloo) baseline for moeflux's benchmarks.

Spawns N local processes joined by the gloo backend on 127.0.0.1 and measures, warm-up excluded:

  a) the vllm-ascend DP metadata sync: an int32 CPU tensor [tokens per DP rank..., with_prefill],
     all-reduced (SUM) once per iteration;
  b) an MoE dispatch + combine moving the same data as
     `moeflux bench dispatch --ranks 4 --tokens 128 --hidden 1024 --topk 8 --experts-per-rank 8`:
     random top-k routing, each token's float32 hidden vector sent once to every other rank that
     holds one of its experts, then the same rows sent back and summed at home.

In the same run, before the ranks start, it measures a raw loopback TCP echo (one socket pair,
64 KiB chunks) so that the throughput can be quoted as a machine-independent ratio:
  efficiency = payload_bytes_per_s / raw_tcp_bytes_per_s.
A second echo after the ranks have finished shows how much the machine drifted during the run.
A human line is printed first, then, as the last line, one JSON object with every figure.
"""

import argparse
import json
import math
import os
import socket
import sys
import threading
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

CHUNK = 64 * 1024
FLOAT_BYTES = 4
DISTINCT_BATCHES = 4


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ranks", type=int, default=4, help="local gloo processes (default 4)")
    p.add_argument("--iterations", type=int, default=2000, help="measured all-reduces (default 2000)")
    p.add_argument("--allreduce-warmup", type=int, default=200, help="all-reduces before measuring (default 200)")
    p.add_argument("--steps", type=int, default=200, help="measured dispatch+combine steps (default 200)")
    p.add_argument("--warmup", type=int, default=20, help="dispatch+combine steps before measuring (default 20)")
    p.add_argument("--tokens", type=int, default=128, help="tokens per rank per step (default 128)")
    p.add_argument("--hidden", type=int, default=1024, help="hidden size, float32 (default 1024)")
    p.add_argument("--topk", type=int, default=8, help="experts per token (default 8)")
    p.add_argument("--experts-per-rank", type=int, default=8, help="experts per rank (default 8)")
    p.add_argument("--seed", type=int, default=42, help="routing and data seed (default 42)")
    p.add_argument("--tcp-seconds", type=float, default=2.0, help="raw TCP echo duration (default 2)")
    p.add_argument(
        "--no-count-exchange",
        action="store_true",
        help="skip the per-step all_to_all of split sizes (receivers then use counts known in advance)",
    )
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    if args.ranks < 2:
        p.error("--ranks must be at least 2")
    if args.topk > args.ranks * args.experts_per_rank:
        p.error("--topk cannot exceed ranks * experts-per-rank")
    for name in ("iterations", "steps", "tokens", "hidden", "topk", "experts_per_rank"):
        if getattr(args, name) < 1:
            p.error("--%s must be positive" % name.replace("_", "-"))
    return args


# ---------------------------------------------------------------- raw TCP reference


def raw_tcp_bytes_per_s(seconds):
    """One socket pair on loopback: the client writes 64 KiB chunks, a server thread echoes them,
    a reader thread drains the echo. Returns bytes echoed back per second (one direction)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    peer, _ = listener.accept()
    listener.close()
    running = threading.Event()
    running.set()
    received = [0]

    def writer():
        chunk = memoryview(bytearray(CHUNK))
        try:
            while running.is_set():
                client.sendall(chunk)
        except OSError:
            pass  # the socket closes when the measurement ends

    def echo():
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        try:
            while running.is_set():
                n = peer.recv_into(buf)
                if n == 0:
                    return
                peer.sendall(view[:n])
        except OSError:
            pass

    def reader():
        buf = bytearray(CHUNK)
        try:
            while running.is_set():
                n = client.recv_into(buf)
                if n == 0:
                    return
                received[0] += n  # only this thread writes it
        except OSError:
            pass

    threads = [threading.Thread(target=t, daemon=True) for t in (echo, reader, writer)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    start_bytes, start = received[0], time.perf_counter()
    time.sleep(seconds)
    end_bytes, end = received[0], time.perf_counter()
    running.clear()
    for s in (client, peer):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
    for t in threads:
        t.join(1.0)
    return (end_bytes - start_bytes) / (end - start)


# ---------------------------------------------------------------- helpers


def percentile(sorted_samples, p):
    """Nearest-rank percentile, as moeflux's own benchmarks compute it."""
    if not sorted_samples:
        return 0
    index = int(math.ceil(p / 100.0 * len(sorted_samples))) - 1
    return sorted_samples[max(0, min(len(sorted_samples) - 1, index))]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slowest_rank_per_sample(local_ns, ranks):
    """All-gathers each rank's per-sample durations and keeps, per sample, the slowest rank's:
    a collective step is over only when every rank is done with it."""
    mine = torch.tensor(local_ns, dtype=torch.int64)
    every = [torch.empty_like(mine) for _ in range(ranks)]
    dist.all_gather(every, mine)
    return torch.stack(every).max(dim=0).values.tolist()


# ---------------------------------------------------------------- a) DP metadata all-reduce


def metadata_allreduce(rank, ranks, tokens, warmup, iterations):
    durations = []
    for i in range(warmup + iterations):
        # vllm-ascend builds a fresh tensor each step: [num_tokens per DP rank..., with_prefill].
        meta = torch.zeros(ranks + 1, dtype=torch.int32)
        meta[rank] = tokens
        start = time.perf_counter_ns()
        dist.all_reduce(meta, op=dist.ReduceOp.SUM)
        elapsed = time.perf_counter_ns() - start
        if i >= warmup:
            durations.append(elapsed)
    if meta[:ranks].tolist() != [tokens] * ranks or int(meta[ranks]) != 0:
        raise RuntimeError("all-reduce returned %s" % meta.tolist())
    return durations


# ---------------------------------------------------------------- b) dispatch + combine


class RoutedBatch:
    """One rank's tokens with their routing, prepared before the measured loop.

    A token is sent once to each other rank holding at least one of its top-k experts."""

    def __init__(self, rank, ranks, args, generator):
        experts = ranks * args.experts_per_rank
        self.hidden = torch.randn(args.tokens, args.hidden, generator=generator)
        picks = torch.rand(args.tokens, experts, generator=generator).topk(args.topk, dim=1).indices
        in_rank = torch.zeros(args.tokens, ranks, dtype=torch.bool)
        in_rank[torch.arange(args.tokens).unsqueeze(1), picks // args.experts_per_rank] = True
        in_rank[:, rank] = False  # local experts read the rows in place; nothing crosses a socket
        self.dest_rows = [in_rank[:, d].nonzero().flatten() for d in range(ranks)]
        self.send_counts = [len(rows) for rows in self.dest_rows]
        # Token order in the send buffer: grouped by destination, ascending destination.
        self.send_index = torch.cat(self.dest_rows)
        self.send_counts_tensor = torch.tensor(self.send_counts, dtype=torch.int64)
        self.recv_counts = None  # filled in when counts are exchanged once up front


def exchange_counts(send_counts_tensor):
    recv = torch.empty_like(send_counts_tensor)
    dist.all_to_all_single(recv, send_counts_tensor)
    return recv.tolist()


def moe_step(batch, hidden, exchange):
    """Dispatch the routed rows, let identity experts hand them back (combine), sum at home.

    Returns the combined output so the work cannot be skipped."""
    recv_counts = exchange_counts(batch.send_counts_tensor) if exchange else batch.recv_counts
    send = batch.hidden.index_select(0, batch.send_index)
    received = torch.empty(sum(recv_counts), hidden)
    dist.all_to_all_single(received, send, recv_counts, batch.send_counts)
    # Combine: each rank returns exactly the rows it received, to their senders.
    returned = torch.empty_like(send)
    dist.all_to_all_single(returned, received, batch.send_counts, recv_counts)
    output = batch.hidden.clone()  # the local experts' contribution
    output.index_add_(0, batch.send_index, returned)
    return output


def dispatch_combine(rank, ranks, args):
    generator = torch.Generator().manual_seed(args.seed * 1000 + rank)
    exchange = not args.no_count_exchange
    batches = [RoutedBatch(rank, ranks, args, generator) for _ in range(DISTINCT_BATCHES)]
    for b in batches:
        b.recv_counts = exchange_counts(b.send_counts_tensor)
    # Hidden-vector bytes this rank sends per step: dispatch out, combine back (same volume).
    sent_bytes = [2 * sum(b.send_counts) * args.hidden * FLOAT_BYTES for b in batches]

    for s in range(args.warmup):
        moe_step(batches[s % DISTINCT_BATCHES], args.hidden, exchange)
    # Correctness once, outside the timed loop: identity experts, so home sums the row back.
    first = batches[0]
    expected = first.hidden.clone()
    expected.index_add_(0, first.send_index, first.hidden.index_select(0, first.send_index))
    if not torch.allclose(moe_step(first, args.hidden, exchange), expected):
        raise RuntimeError("combine returned wrong rows on rank %d" % rank)

    dist.barrier()
    durations = []
    bytes_total = 0
    start = last = time.perf_counter_ns()
    for s in range(args.steps):
        b = (args.warmup + s) % DISTINCT_BATCHES
        moe_step(batches[b], args.hidden, exchange)
        now = time.perf_counter_ns()
        durations.append(now - last)
        last = now
        bytes_total += sent_bytes[b]
    wall_ns = last - start
    return durations, bytes_total, wall_ns


# ---------------------------------------------------------------- worker


def worker(rank, args, port, results):
    torch.set_num_threads(1)  # N processes share 2 cores: no intra-op thread pools on top
    dist.init_process_group(
        "gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank, world_size=args.ranks
    )
    try:
        ar = metadata_allreduce(rank, args.ranks, args.tokens, args.allreduce_warmup, args.iterations)
        ar = slowest_rank_per_sample(ar, args.ranks)
        dc, bytes_total, wall_ns = dispatch_combine(rank, args.ranks, args)
        dc = slowest_rank_per_sample(dc, args.ranks)
        totals = torch.tensor([bytes_total, wall_ns], dtype=torch.int64)
        every = [torch.empty_like(totals) for _ in range(args.ranks)]
        dist.all_gather(every, totals)
        if rank == 0:
            every = torch.stack(every)
            results.put(
                {
                    "allreduce_ns": sorted(ar),
                    "step_ns": sorted(dc),
                    "payload_bytes": int(every[:, 0].sum()),
                    "wall_ns": int(every[:, 1].max()),
                }
            )
    finally:
        dist.destroy_process_group()


def main(argv):
    args = parse_args(argv)
    # Gloo picks its network device from the host name unless told: keep it on loopback.
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    raw_tcp = raw_tcp_bytes_per_s(args.tcp_seconds)

    ctx = mp.get_context("spawn")
    results = ctx.SimpleQueue()
    procs = mp.spawn(worker, args=(args, free_port(), results), nprocs=args.ranks, join=False)
    # Read while joining so a full pipe can never stall rank 0.
    r = None
    while True:
        if r is None and not results.empty():
            r = results.get()
        if procs.join(timeout=0.5):
            break
    if r is None:
        r = results.get()
    # A second echo after the ranks are gone: how far the machine drifted during the run.
    raw_tcp_after = raw_tcp_bytes_per_s(args.tcp_seconds)

    ar, st = r["allreduce_ns"], r["step_ns"]
    payload_per_s = r["payload_bytes"] / (r["wall_ns"] / 1e9)
    # Hidden rows that crossed a socket (dispatch and combine, float32 rows), moeflux's rows_per_s.
    row_bytes = args.hidden * FLOAT_BYTES
    figures = {
        "bench": "gloo-baseline",
        "torch": torch.__version__,
        "backend": "gloo",
        "ranks": args.ranks,
        "allreduce_values": args.ranks + 1,
        "allreduce_iterations": len(ar),
        "allreduce_p50_us": round(percentile(ar, 50) / 1000, 1),
        "allreduce_p99_us": round(percentile(ar, 99) / 1000, 1),
        "tokens": args.tokens,
        "hidden": args.hidden,
        "topk": args.topk,
        "experts_per_rank": args.experts_per_rank,
        "count_exchange": not args.no_count_exchange,
        "steps": len(st),
        "step_p50_us": round(percentile(st, 50) / 1000, 1),
        "step_p99_us": round(percentile(st, 99) / 1000, 1),
        "payload_bytes_per_step": r["payload_bytes"] // len(st),
        "payload_bytes_per_s": round(payload_per_s),
        "wire": "f32",
        "rows_per_step": r["payload_bytes"] // row_bytes // len(st),
        "rows_per_s": round(payload_per_s / row_bytes),
        "raw_tcp_bytes_per_s": round(raw_tcp),
        "efficiency": round(payload_per_s / raw_tcp, 3),
        "raw_tcp_after_bytes_per_s": round(raw_tcp_after),
    }
    if not args.json:
        print(
            "gloo %d ranks: metadata all-reduce (%d int32) p50 %.1f us, p99 %.1f us; "
            "dispatch+combine %d tokens/rank, hidden %d, top-%d: step p50 %.1f us, p99 %.1f us; "
            "%.1f MB/s payload (%.0f rows/s) vs %.1f MB/s raw TCP echo -> efficiency %.3f"
            " (echo after the run: %.1f MB/s)"
            % (
                args.ranks,
                args.ranks + 1,
                figures["allreduce_p50_us"],
                figures["allreduce_p99_us"],
                args.tokens,
                args.hidden,
                args.topk,
                figures["step_p50_us"],
                figures["step_p99_us"],
                payload_per_s / 1e6,
                figures["rows_per_s"],
                raw_tcp / 1e6,
                figures["efficiency"],
                raw_tcp_after / 1e6,
            )
        )
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
