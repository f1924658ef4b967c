package io.moeflux.serving;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.TokenBatch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Turns client requests into group steps. A request is one batch of tokens for one rank (or for
 * whichever rank has the least queued); each step packs, per rank, the queued requests that fit its
 * capacity, runs the step on every rank (ranks without requests run an empty batch), and hands each
 * request its rows of the output. One step is in flight at a time; the group idles when nothing is
 * queued.
 */
public final class RequestBatcher implements Disposable {
  private record Request(int rank, int tokens, float[] data, Sinks.One<Served> result) {}

  /** A request's output rows and the rank that ran them. */
  public record Served(int rank, TokenBatch batch) {}

  private final MoeGroup group;
  private final int capacity;
  private final int hidden;
  private final List<ArrayDeque<Request>> queues = new ArrayList<>();
  private final List<Sinks.Many<TokenBatch>> inputs = new ArrayList<>();
  private final Disposable outputs;
  private final AtomicLong tokensServed = new AtomicLong();
  private final AtomicLong requestsServed = new AtomicLong();
  private final Timer stepLatency;
  private final Counter failedRequests;
  private List<List<Request>> inFlight;
  private long stepStarted;
  private long nextStep;
  private Throwable failure;

  public RequestBatcher(MoeGroup group) {
    this(group, new SimpleMeterRegistry());
  }

  /**
   * Records step latency ({@code moeflux.step.latency}) and failed requests in {@code registry}.
   */
  public RequestBatcher(MoeGroup group, MeterRegistry registry) {
    this.group = Objects.requireNonNull(group, "group");
    this.stepLatency =
        Timer.builder("moeflux.step.latency")
            .description("one group step, dispatch to combine, every MoE layer")
            .publishPercentiles(0.5, 0.99)
            .register(registry);
    this.failedRequests = registry.counter("moeflux.requests.failed");
    this.capacity = group.rank(0).config().maxTokensPerRank();
    this.hidden = group.rank(0).config().model().hidden();
    List<Flux<TokenBatch>> streams = new ArrayList<>();
    for (int r = 0; r < group.size(); r++) {
      queues.add(new ArrayDeque<>());
      Sinks.Many<TokenBatch> sink = Sinks.many().unicast().onBackpressureBuffer();
      inputs.add(sink);
      streams.add(sink.asFlux());
    }
    this.outputs = group.forward(streams).subscribe(this::stepDone, this::fail);
  }

  /**
   * Queues {@code tokens} rows of {@code data} for {@code rank} (-1: the least loaded rank) and
   * completes with this request's output rows.
   */
  public Mono<Served> submit(int rank, int tokens, float[] data) {
    return Mono.defer(
        () -> {
          if (rank < -1 || rank >= group.size()) {
            return Mono.error(
                new IllegalArgumentException(
                    "rank " + rank + " is not in this group of " + group.size() + " (-1: any)"));
          }
          if (tokens > capacity) {
            return Mono.error(
                new IllegalArgumentException(
                    tokens + " tokens exceed the capacity of " + capacity + " tokens per rank"));
          }
          if (data.length != tokens * hidden) {
            return Mono.error(
                new IllegalArgumentException(
                    data.length + " values for " + tokens + " tokens of hidden size " + hidden));
          }
          Sinks.One<Served> result = Sinks.one();
          synchronized (this) {
            if (failure != null) {
              return Mono.error(failure);
            }
            int target = rank >= 0 ? rank : leastLoaded();
            queues.get(target).add(new Request(target, tokens, data, result));
          }
          tryStep();
          return result.asMono();
        });
  }

  private int leastLoaded() {
    int best = 0;
    long bestTokens = Long.MAX_VALUE;
    for (int r = 0; r < queues.size(); r++) {
      long queued = queues.get(r).stream().mapToLong(Request::tokens).sum();
      if (queued < bestTokens) {
        best = r;
        bestTokens = queued;
      }
    }
    return best;
  }

  private void tryStep() {
    List<TokenBatch> batches = new ArrayList<>();
    synchronized (this) {
      if (inFlight != null || failure != null || queues.stream().allMatch(ArrayDeque::isEmpty)) {
        return;
      }
      long step = nextStep++;
      stepStarted = System.nanoTime();
      inFlight = new ArrayList<>();
      for (ArrayDeque<Request> queue : queues) {
        List<Request> taken = new ArrayList<>();
        int total = 0;
        while (!queue.isEmpty() && total + queue.peek().tokens() <= capacity) {
          Request request = queue.poll();
          taken.add(request);
          total += request.tokens();
        }
        float[] data = new float[total * hidden];
        int at = 0;
        for (Request request : taken) {
          System.arraycopy(request.data(), 0, data, at, request.data().length);
          at += request.data().length;
        }
        inFlight.add(taken);
        batches.add(TokenBatch.of(step, total, hidden, data));
      }
    }
    for (int r = 0; r < batches.size(); r++) {
      inputs
          .get(r)
          .emitNext(
              batches.get(r),
              Sinks.EmitFailureHandler.busyLooping(java.time.Duration.ofSeconds(1)));
    }
  }

  private void stepDone(List<TokenBatch> outputs) {
    List<List<Request>> done;
    synchronized (this) {
      done = inFlight;
      inFlight = null;
      stepLatency.record(
          System.nanoTime() - stepStarted, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
    for (int r = 0; r < outputs.size(); r++) {
      TokenBatch out = outputs.get(r);
      int topK = out.tokens() == 0 ? 0 : out.topkIds().length / out.tokens();
      int row = 0;
      for (Request request : done.get(r)) {
        int from = row;
        int to = row + request.tokens();
        request
            .result()
            .tryEmitValue(
                new Served(
                    r,
                    TokenBatch.routed(
                        out.step(),
                        request.tokens(),
                        hidden,
                        Arrays.copyOfRange(out.data(), from * hidden, to * hidden),
                        false,
                        Arrays.copyOfRange(out.topkIds(), from * topK, to * topK),
                        Arrays.copyOfRange(out.topkWeights(), from * topK, to * topK))));
        row = to;
        requestsServed.incrementAndGet();
        tokensServed.addAndGet(request.tokens());
      }
    }
    tryStep();
  }

  private void fail(Throwable error) {
    List<Request> pending = new ArrayList<>();
    synchronized (this) {
      failure = error;
      if (inFlight != null) {
        inFlight.forEach(pending::addAll);
      }
      queues.forEach(pending::addAll);
      queues.forEach(ArrayDeque::clear);
    }
    failedRequests.increment(pending.size());
    pending.forEach(request -> request.result().tryEmitError(error));
  }

  /** The next step id the group will run. */
  public synchronized long nextStep() {
    return nextStep;
  }

  public long requestsServed() {
    return requestsServed.get();
  }

  public long tokensServed() {
    return tokensServed.get();
  }

  public int capacity() {
    return capacity;
  }

  public int hidden() {
    return hidden;
  }

  public MoeGroup group() {
    return group;
  }

  @Override
  public void dispose() {
    inputs.forEach(Sinks.Many::tryEmitComplete);
    outputs.dispose();
  }
}
