package io.moeflux.serving;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.MoeModel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
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
 *
 * <p>With a checkpoint model, which runs one MoE layer per step (step s runs layer {@code s mod
 * L}), a request names its layer and waits for a step of that layer; a step packs only the requests
 * of its layer, and runs (empty where nothing matches) while any request is queued, so a request
 * waits at most L steps.
 *
 * <p>Steps go into the ranks' inputs from one thread at a time (whichever caller finds the way
 * free; the others leave their work to it), so an emission never races another and is never
 * retried. An input that refuses a batch means the group has stopped: every pending request then
 * fails with the reason.
 */
public final class RequestBatcher implements Disposable {
  /** {@code layer}: the MoE layer (position among the MoE layers), -1 for every layer. */
  private record Request(int rank, int layer, int tokens, float[] data, Sinks.One<Served> result) {}

  /**
   * A request's output rows (naming the layer they ran, for a checkpoint model), the rank that ran
   * them and the version of the placement in force for the step.
   */
  public record Served(int rank, long placementVersion, TokenBatch batch) {}

  private final MoeGroup group;
  private final MoeModel model;
  private final int capacity;
  private final int hidden;
  private final Timer stepLatency;
  private final Counter failedRequests;
  private final List<Sinks.Many<TokenBatch>> inputs = new ArrayList<>();
  private final AtomicLong tokensServed = new AtomicLong();
  private final AtomicLong requestsServed = new AtomicLong();
  // Callers that asked for an emission pass; the first one emits until none is left.
  private final AtomicInteger emissionsWanted = new AtomicInteger();

  // guarded by this
  private final List<ArrayDeque<Request>> queues = new ArrayList<>();
  private @Nullable List<List<Request>> inFlight;
  private long stepStarted;
  private long nextStep;
  private @Nullable Throwable failure;
  private boolean disposed;
  private boolean inputsCompleted;

  private RequestBatcher(MoeGroup group, Timer stepLatency, Counter failedRequests) {
    this.group = group;
    this.stepLatency = stepLatency;
    this.failedRequests = failedRequests;
    this.capacity = group.rank(0).config().maxTokensPerRank();
    this.model = group.rank(0).config().model();
    this.hidden = model.hidden();
    for (int r = 0; r < group.size(); r++) {
      queues.add(new ArrayDeque<>());
      inputs.add(Sinks.many().unicast().onBackpressureBuffer());
    }
  }

  /** {@link #start(MoeGroup, MeterRegistry)} with meters kept in memory only. */
  public static Mono<RequestBatcher> start(MoeGroup group) {
    return start(group, new SimpleMeterRegistry());
  }

  /**
   * When subscribed, registers step latency ({@code moeflux.step.latency}) and failed requests
   * ({@code moeflux.requests.failed}) in {@code registry}, subscribes to the group's step stream
   * and emits the batcher, ready for {@link #submit}. The group then runs a step whenever a request
   * is queued; {@link #dispose} ends that.
   */
  public static Mono<RequestBatcher> start(MoeGroup group, MeterRegistry registry) {
    Objects.requireNonNull(group, "group");
    Objects.requireNonNull(registry, "registry");
    return Mono.fromSupplier(
        () -> {
          Timer stepLatency =
              Timer.builder("moeflux.step.latency")
                  .description("one group step, dispatch to combine, every MoE layer")
                  .publishPercentiles(0.5, 0.99)
                  .register(registry);
          Counter failedRequests = registry.counter("moeflux.requests.failed");
          RequestBatcher batcher = new RequestBatcher(group, stepLatency, failedRequests);
          // ends by itself once dispose completes the inputs, or when the group fails
          group.forward(batcher.inputStreams()).subscribe(batcher::stepDone, batcher::fail);
          return batcher;
        });
  }

  private List<Flux<TokenBatch>> inputStreams() {
    List<Flux<TokenBatch>> streams = new ArrayList<>();
    for (Sinks.Many<TokenBatch> input : inputs) {
      streams.add(input.asFlux());
    }
    return streams;
  }

  /**
   * Queues {@code tokens} rows of {@code data} for {@code rank} (-1: the least loaded rank) and
   * completes with this request's output rows. For the synthetic model, which runs every layer.
   */
  public Mono<Served> submit(int rank, int tokens, float[] data) {
    return submit(rank, TokenBatch.ANY_LAYER, tokens, data);
  }

  /**
   * Queues {@code tokens} rows of {@code data} for {@code rank} (-1: the least loaded rank) and
   * decoder layer {@code layer} ({@link TokenBatch#ANY_LAYER} for the synthetic model, which runs
   * every layer) and completes with this request's output rows, or fails naming what is wrong (a
   * rank outside the group, more tokens than the capacity, a NaN or infinite value).
   */
  public Mono<Served> submit(int rank, int layer, int tokens, float[] data) {
    return Mono.defer(
        () -> {
          int moeLayer;
          try {
            moeLayer = moeLayer(layer);
          } catch (IllegalArgumentException e) {
            return Mono.error(e);
          }
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
          int notFinite = firstNotFinite(data);
          if (notFinite >= 0) {
            // NaN gate logits route to arbitrary experts and skew the heat that drives EPLB
            return Mono.error(
                new IllegalArgumentException(
                    "token "
                        + notFinite / hidden
                        + " has "
                        + (Float.isNaN(data[notFinite]) ? "a NaN" : "an infinite")
                        + " value at element "
                        + notFinite % hidden
                        + ": only finite hidden states are served"));
          }
          Sinks.One<Served> result = Sinks.one();
          synchronized (this) {
            if (failure != null) {
              return Mono.error(failure);
            }
            int target = rank >= 0 ? rank : leastLoaded();
            queues.get(target).add(new Request(target, moeLayer, tokens, data, result));
          }
          emitSteps();
          return result.asMono();
        });
  }

  /** The index of the first NaN or infinite value of {@code data}, or -1. */
  private static int firstNotFinite(float[] data) {
    for (int i = 0; i < data.length; i++) {
      if (!Float.isFinite(data[i])) {
        return i;
      }
    }
    return -1;
  }

  /** The MoE layer a request for decoder layer {@code layer} waits for; -1 for every layer. */
  private int moeLayer(int layer) {
    if (model.runsEveryLayerPerStep()) {
      if (layer != TokenBatch.ANY_LAYER) {
        throw new IllegalArgumentException(
            "the request names layer "
                + layer
                + ", but the "
                + model.describe()
                + " runs every layer in every step: send layer -1");
      }
      return -1;
    }
    if (layer == TokenBatch.ANY_LAYER) {
      throw new IllegalArgumentException(
          "the request names no layer, but the " + model.describe() + " runs one layer per step");
    }
    int moeLayer = model.layerOf(layer);
    if (moeLayer < 0) {
      throw new IllegalArgumentException(
          "layer " + layer + " is not a MoE layer of the " + model.describe());
    }
    return moeLayer;
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

  /**
   * Emits the next step if one can run, and completes the inputs once disposed. Only one thread is
   * in the loop at a time; a caller that finds it taken counts its wish, and the thread in the loop
   * goes round once more for it.
   */
  private void emitSteps() {
    if (emissionsWanted.getAndIncrement() != 0) {
      return;
    }
    int wanted = 1;
    do {
      List<TokenBatch> batches = takeStep();
      if (batches != null) {
        emit(batches);
      }
      if (takeInputCompletion()) {
        inputs.forEach(Sinks.Many::tryEmitComplete);
      }
      wanted = emissionsWanted.addAndGet(-wanted);
    } while (wanted != 0);
  }

  /**
   * The batches of the next step, one per rank, or null when a step is in flight or none is due.
   */
  private synchronized @Nullable List<TokenBatch> takeStep() {
    if (inFlight != null || failure != null || queues.stream().allMatch(ArrayDeque::isEmpty)) {
      return null;
    }
    long step = nextStep++;
    stepStarted = System.nanoTime();
    int layer = model.runsEveryLayerPerStep() ? -1 : MoeModel.layerOfStep(step, model.layers());
    List<List<Request>> taking = new ArrayList<>();
    List<TokenBatch> batches = new ArrayList<>();
    for (ArrayDeque<Request> queue : queues) {
      List<Request> taken = new ArrayList<>();
      int total = 0;
      // the step's layer's requests, in order, as long as they fit
      for (Iterator<Request> it = queue.iterator(); it.hasNext(); ) {
        Request request = it.next();
        if (request.layer() != layer) {
          continue;
        }
        if (total + request.tokens() > capacity) {
          break;
        }
        it.remove();
        taken.add(request);
        total += request.tokens();
      }
      float[] data = new float[total * hidden];
      int at = 0;
      for (Request request : taken) {
        System.arraycopy(request.data(), 0, data, at, request.data().length);
        at += request.data().length;
      }
      taking.add(taken);
      TokenBatch batch = TokenBatch.of(step, total, hidden, data);
      batches.add(layer < 0 ? batch : batch.atLayer(model.layerId(layer)));
    }
    inFlight = taking;
    return batches;
  }

  private void emit(List<TokenBatch> batches) {
    for (int r = 0; r < batches.size(); r++) {
      Sinks.EmitResult result = inputs.get(r).tryEmitNext(batches.get(r));
      if (result.isFailure()) {
        // Emissions are serialized and the inputs unbounded, so only a stopped group refuses.
        fail(
            new IllegalStateException(
                "rank "
                    + r
                    + " did not take the batch of step "
                    + batches.get(r).step()
                    + " ("
                    + result
                    + "): the group is no longer running"));
        return;
      }
    }
  }

  private synchronized boolean takeInputCompletion() {
    if (!disposed || inputsCompleted) {
      return false;
    }
    inputsCompleted = true;
    return true;
  }

  private void stepDone(List<TokenBatch> outputs) {
    List<List<Request>> done;
    synchronized (this) {
      done = inFlight;
      inFlight = null;
      if (done == null) {
        // the group failed meanwhile and its requests were failed with the reason
        return;
      }
      stepLatency.record(System.nanoTime() - stepStarted, TimeUnit.NANOSECONDS);
    }
    for (int r = 0; r < outputs.size(); r++) {
      TokenBatch out = outputs.get(r);
      // the next step has not been handed to the group yet: this is the placement it ran under
      long placementVersion = group.rank(r).status().placementVersion();
      int topK = out.tokens() == 0 ? 0 : out.topkIds().length / out.tokens();
      int row = 0;
      for (Request request : done.get(r)) {
        int from = row;
        int to = row + request.tokens();
        // counted before the answer goes out, so a client that saw its answer sees it counted
        requestsServed.incrementAndGet();
        tokensServed.addAndGet(request.tokens());
        request
            .result()
            .tryEmitValue(
                new Served(
                    r,
                    placementVersion,
                    new TokenBatch(
                        out.step(),
                        request.tokens(),
                        hidden,
                        Arrays.copyOfRange(out.data(), from * hidden, to * hidden),
                        false,
                        Arrays.copyOfRange(out.topkIds(), from * topK, to * topK),
                        Arrays.copyOfRange(out.topkWeights(), from * topK, to * topK),
                        out.layer())));
        row = to;
      }
    }
    emitSteps();
  }

  /** The group failed or stopped: every queued and in-flight request fails, and later ones. */
  private void fail(Throwable error) {
    failPending(error, true);
  }

  private void failPending(Throwable error, boolean inFlightToo) {
    List<Request> pending = new ArrayList<>();
    Throwable cause;
    synchronized (this) {
      if (failure == null) {
        failure = error;
      }
      cause = failure;
      if (inFlightToo && inFlight != null) {
        inFlight.forEach(pending::addAll);
        inFlight = null;
      }
      queues.forEach(pending::addAll);
      queues.forEach(ArrayDeque::clear);
    }
    failedRequests.increment(pending.size());
    pending.forEach(request -> request.result().tryEmitError(cause));
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

  /** The model the group runs. */
  public MoeModel model() {
    return model;
  }

  public MoeGroup group() {
    return group;
  }

  /**
   * Stops taking requests: queued ones and later ones fail with a {@link CancellationException},
   * the step in flight (if any) finishes and serves its requests, and the ranks' inputs complete,
   * which ends the group's step stream. The group itself stays up. The step in flight is not
   * cancelled: a step cut off between its phases would leave the group's ranks out of step.
   */
  @Override
  public void dispose() {
    synchronized (this) {
      if (disposed) {
        return;
      }
      disposed = true;
    }
    failPending(new CancellationException("the request batcher was disposed"), false);
    emitSteps();
  }

  @Override
  public synchronized boolean isDisposed() {
    return disposed;
  }
}
