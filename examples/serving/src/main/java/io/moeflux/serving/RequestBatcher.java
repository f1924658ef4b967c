package io.moeflux.serving;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.MoeModel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Turns client requests into steps. A request is one batch of tokens for one rank (or for whichever
 * rank has the least queued); each step packs, per rank, the queued requests that fit its capacity,
 * runs the step on every rank (ranks without requests run an empty batch), and hands each request
 * its rows of the output. One step is in flight at a time; nothing runs while nothing is queued.
 *
 * <p>A batcher drives either a whole group in this JVM ({@link #start(MoeGroup)}) or one rank of a
 * group whose other ranks serve their own clients in their own processes ({@link #start(MoeRank,
 * MeterRegistry, BatcherOptions)}). Such a rank steps on demand, with no barrier: it starts the
 * next step when it has requests queued, and when a peer opens a step it has not run yet ({@link
 * MoeRank#stepsOpenedByPeers()}) it joins that step at once with the requests it has, an empty
 * batch if none. So every rank runs every step in one order, and no rank runs a step while no rank
 * has work.
 *
 * <p>With a checkpoint model, which runs one MoE layer per step (step s runs layer {@code s mod
 * L}), a request names its layer and waits for a step of that layer; a step packs only the requests
 * of its layer, and runs (empty where nothing matches) while any request is queued, so a request
 * waits at most L steps.
 *
 * <p>The queue of each rank holds at most {@link BatcherOptions#maxQueuedRequests()}; one more is
 * refused at once. A request whose subscriber cancels (or whose deadline passes) while queued
 * leaves the queue; one already in a step runs with it, and its rows are dropped.
 *
 * <p>Steps go into the ranks' inputs from one thread at a time (whichever caller finds the way
 * free; the others leave their work to it), so an emission never races another and is never
 * retried. An input that refuses a batch, a failed step or a mesh that closes means the group has
 * stopped: every pending request then fails with the reason, and so does every later one.
 */
public final class RequestBatcher implements Disposable {
  /** {@code layer}: the MoE layer (position among the MoE layers), -1 for every layer. */
  private record Request(int rank, int layer, int tokens, float[] data, Sinks.One<Served> result) {}

  /**
   * A request's output rows (naming the layer they ran, for a checkpoint model), the rank that ran
   * them and the version of the placement in force for the step.
   */
  public record Served(int rank, long placementVersion, TokenBatch batch) {}

  /**
   * One rank's step as it ran here: the batch that went in (the rank's requests of the step, in
   * queue order), what came out, and the version of the placement in force for the step.
   */
  public record StepServed(int rank, long placementVersion, TokenBatch input, TokenBatch output) {}

  /** The step in flight: each local rank's requests and the batch they went in as. */
  private record InFlight(List<List<Request>> requests, List<TokenBatch> inputs) {}

  private final List<MoeRank> ranks;
  private final int firstRank;
  private final int worldSize;
  private final @Nullable MoeGroup group;
  private final int maxQueued;
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
  private final Sinks.Many<StepServed> stepsServed = Sinks.many().multicast().directBestEffort();
  private final Sinks.Empty<Void> drained = Sinks.empty();
  private final Disposable.Composite listening = Disposables.composite();

  // guarded by this
  private final List<ArrayDeque<Request>> queues = new ArrayList<>();
  private @Nullable InFlight inFlight;
  private long stepStarted;
  private long nextStep;
  // the highest step a peer opened: this rank joins every step up to it
  private long demandedThrough = -1;
  private boolean draining;
  private @Nullable Throwable failure;
  private boolean disposed;
  private boolean inputsCompleted;

  private RequestBatcher(
      List<MoeRank> ranks,
      int worldSize,
      @Nullable MoeGroup group,
      BatcherOptions options,
      MeterRegistry registry) {
    this.ranks = List.copyOf(ranks);
    this.firstRank = ranks.get(0).rank();
    this.worldSize = worldSize;
    this.group = group;
    this.maxQueued = options.maxQueuedRequests();
    this.stepLatency =
        Timer.builder("moeflux.step.latency")
            .description("one group step, dispatch to combine, every MoE layer")
            .publishPercentiles(0.5, 0.99)
            .register(registry);
    this.failedRequests = registry.counter("moeflux.requests.failed");
    this.capacity = ranks.get(0).config().maxTokensPerRank();
    this.model = ranks.get(0).config().model();
    this.hidden = model.hidden();
    for (int r = 0; r < ranks.size(); r++) {
      queues.add(new ArrayDeque<>());
      inputs.add(Sinks.many().unicast().onBackpressureBuffer());
    }
  }

  /** {@link #start(MoeGroup, MeterRegistry)} with meters kept in memory only. */
  public static Mono<RequestBatcher> start(MoeGroup group) {
    return start(group, new SimpleMeterRegistry());
  }

  /** {@link #start(MoeGroup, MeterRegistry, BatcherOptions)} with the default options. */
  public static Mono<RequestBatcher> start(MoeGroup group, MeterRegistry registry) {
    return start(group, registry, BatcherOptions.defaults());
  }

  /**
   * When subscribed, registers step latency ({@code moeflux.step.latency}) and failed requests
   * ({@code moeflux.requests.failed}) in {@code registry}, subscribes to the group's step stream
   * and emits the batcher, ready for {@link #submit}. The group then runs a step whenever a request
   * is queued; {@link #dispose} ends that.
   */
  public static Mono<RequestBatcher> start(
      MoeGroup group, MeterRegistry registry, BatcherOptions options) {
    Objects.requireNonNull(group, "group");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(options, "options");
    return Mono.fromSupplier(
        () -> {
          RequestBatcher batcher =
              new RequestBatcher(group.ranks(), group.size(), group, options, registry);
          return batcher.drive(group.forward(batcher.inputStreams()), Flux.empty());
        });
  }

  /**
   * When subscribed, registers the meters of {@link #start(MoeGroup, MeterRegistry)}, subscribes to
   * {@code rank}'s step stream and to the steps its peers open, and emits the batcher: one rank of
   * a group whose other ranks run in other processes, each with a batcher of its own. The rank runs
   * a step when a request is queued here or when a peer opens one (stepping on demand, see above).
   * Requests name this rank or -1. Should the rank's mesh fail (a peer lost, a protocol error),
   * every pending and later request fails with its error, which names the cause.
   */
  public static Mono<RequestBatcher> start(
      MoeRank rank, MeterRegistry registry, BatcherOptions options) {
    Objects.requireNonNull(rank, "rank");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(options, "options");
    return Mono.fromSupplier(
        () -> {
          RequestBatcher batcher =
              new RequestBatcher(List.of(rank), rank.status().worldSize(), null, options, registry);
          return batcher.drive(
              rank.forward(batcher.inputStreams().get(0)).map(List::of), rank.stepsOpenedByPeers());
        });
  }

  /**
   * Subscribes to the ranks' step outputs (which end by themselves once dispose completes the
   * inputs, or when a rank fails), to the steps peers open, and to the ranks' meshes closing.
   */
  private RequestBatcher drive(Flux<List<TokenBatch>> steps, Flux<Long> openedByPeers) {
    steps.subscribe(this::stepDone, this::fail);
    listening.add(openedByPeers.subscribe(this::peerOpened));
    ranks.forEach(this::watch);
    return this;
  }

  /** A rank's mesh that closes or fails, even between steps, stops the batcher with the reason. */
  private void watch(MoeRank rank) {
    listening.add(
        rank.onClose()
            .subscribe(
                null,
                this::fail,
                () ->
                    fail(
                        new IllegalStateException(
                            "rank " + rank.rank() + " left the mesh: the group is not serving"))));
  }

  /** A peer opened {@code step}: this rank joins every step up to it. */
  private void peerOpened(long step) {
    synchronized (this) {
      demandedThrough = Math.max(demandedThrough, step);
    }
    emitSteps();
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
    return submit(rank, layer, tokens, data, null);
  }

  /**
   * As {@link #submit(int, int, int, float[])}, failing with a {@link TimeoutException} if no step
   * has answered the request within {@code deadline} (null: none). A request whose deadline passes
   * while queued leaves the queue; one already in a step runs with it, its rows dropped.
   */
  public Mono<Served> submit(
      int rank, int layer, int tokens, float[] data, @Nullable Duration deadline) {
    Mono<Served> request = queue(rank, layer, tokens, data);
    if (deadline == null) {
      return request;
    }
    return request.timeout(
        deadline,
        Mono.error(
            () ->
                new TimeoutException(
                    "no step answered the request within its deadline of " + deadline)));
  }

  private Mono<Served> queue(int rank, int layer, int tokens, float[] data) {
    return Mono.defer(
        () -> {
          int moeLayer;
          try {
            moeLayer = moeLayer(layer);
          } catch (IllegalArgumentException e) {
            return Mono.error(e);
          }
          String notHere = notServedHere(rank);
          if (notHere != null) {
            return Mono.error(new IllegalArgumentException(notHere));
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
          Request request;
          synchronized (this) {
            if (failure != null) {
              return Mono.error(failure);
            }
            if (draining) {
              return Mono.error(
                  new IllegalStateException(
                      "rank "
                          + firstRank
                          + " is draining: it finishes what it holds and takes no"
                          + " new requests"));
            }
            int target = rank >= 0 ? rank - firstRank : leastLoaded();
            ArrayDeque<Request> queue = queues.get(target);
            if (queue.size() >= maxQueued) {
              failedRequests.increment();
              return Mono.error(
                  new RejectedExecutionException(
                      "the queue of rank "
                          + (firstRank + target)
                          + " is full ("
                          + maxQueued
                          + " requests waiting): try again later"));
            }
            request = new Request(firstRank + target, moeLayer, tokens, data, result);
            queue.add(request);
          }
          emitSteps();
          return result.asMono().doOnCancel(() -> withdraw(request));
        });
  }

  /** Why requests for {@code rank} are not served here, or null when they are. */
  private @Nullable String notServedHere(int rank) {
    if (rank == -1 || (rank >= firstRank && rank < firstRank + ranks.size())) {
      return null;
    }
    if (group != null || rank < -1 || rank >= worldSize) {
      return "rank " + rank + " is not in this group of " + worldSize + " (-1: any)";
    }
    return "rank "
        + rank
        + " serves its own clients in its own process: this one serves rank "
        + firstRank
        + " of "
        + worldSize
        + " (-1: this rank)";
  }

  /** A request whose subscriber went away leaves the queue, if it is still there. */
  private void withdraw(Request request) {
    synchronized (this) {
      queues.get(request.rank() - firstRank).remove(request);
    }
    drainedIfIdle();
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
    if (inFlight != null || failure != null) {
      return null;
    }
    boolean queued = !queues.stream().allMatch(ArrayDeque::isEmpty);
    if (!queued && nextStep > demandedThrough) {
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
    inFlight = new InFlight(taking, batches);
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
    InFlight done;
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
      int rank = firstRank + r;
      // the next step has not been handed to the rank yet: this is the placement it ran under
      long placementVersion = ranks.get(r).placementVersion();
      int topK = out.tokens() == 0 ? 0 : out.topkIds().length / out.tokens();
      int row = 0;
      for (Request request : done.requests().get(r)) {
        int from = row;
        int to = row + request.tokens();
        // counted before the answer goes out, so a client that saw its answer sees it counted
        requestsServed.incrementAndGet();
        tokensServed.addAndGet(request.tokens());
        request
            .result()
            .tryEmitValue(
                new Served(
                    rank,
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
      stepsServed.tryEmitNext(new StepServed(rank, placementVersion, done.inputs().get(r), out));
    }
    drainedIfIdle();
    emitSteps();
  }

  /** Completes {@link #drain()} once draining and nothing is queued or in flight. */
  private void drainedIfIdle() {
    boolean idle;
    synchronized (this) {
      idle =
          (draining || failure != null)
              && inFlight == null
              && queues.stream().allMatch(ArrayDeque::isEmpty);
    }
    if (idle) {
      drained.tryEmitEmpty();
    }
  }

  /**
   * Stops taking requests (a new one is refused, saying so) and completes once every request queued
   * has been answered; the rank still joins the steps its peers open, so that the group's other
   * ranks go on serving until it leaves. Completes at once when nothing is queued, and also when
   * the group stops (its requests failed with the reason).
   */
  public Mono<Void> drain() {
    synchronized (this) {
      draining = true;
    }
    drainedIfIdle();
    return drained.asMono();
  }

  /**
   * Every step as this batcher's ranks ran it, inputs and outputs (for checking them against a
   * reference, say). Hot: a subscriber sees the steps that end after it subscribed; one that cannot
   * keep up misses steps, never slows them.
   */
  public Flux<StepServed> stepsServed() {
    return stepsServed.asFlux();
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
        inFlight.requests().forEach(pending::addAll);
        inFlight = null;
      }
      queues.forEach(pending::addAll);
      queues.forEach(ArrayDeque::clear);
    }
    failedRequests.increment(pending.size());
    pending.forEach(request -> request.result().tryEmitError(cause));
    drainedIfIdle();
  }

  /** Why the batcher stopped serving (the group failed or stopped), or null while it serves. */
  public synchronized @Nullable Throwable failure() {
    return failure;
  }

  /** Requests waiting for a step, over this batcher's ranks. */
  public synchronized int queuedRequests() {
    return queues.stream().mapToInt(ArrayDeque::size).sum();
  }

  /** Whether {@link #drain()} was called: no new request is taken. */
  public synchronized boolean draining() {
    return draining;
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

  /**
   * The group this batcher drives.
   *
   * @throws IllegalStateException when it drives one rank of a group spread over processes
   */
  public MoeGroup group() {
    if (group == null) {
      throw new IllegalStateException(
          "this batcher drives rank " + firstRank + " of " + worldSize + " alone, not a group");
    }
    return group;
  }

  /** The ranks this batcher drives, in rank order: every rank of a group, or one rank. */
  public List<MoeRank> ranks() {
    return ranks;
  }

  /** The size of the whole group, whose ranks may run in other processes. */
  public int worldSize() {
    return worldSize;
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
    listening.dispose();
    failPending(new CancellationException("the request batcher was disposed"), false);
    emitSteps();
  }

  @Override
  public synchronized boolean isDisposed() {
    return disposed;
  }
}
