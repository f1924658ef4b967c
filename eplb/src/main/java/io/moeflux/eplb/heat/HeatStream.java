package io.moeflux.eplb.heat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.moeflux.pipeline.HeatTap;
import io.moeflux.transport.Collectives;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.FrameKind;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.BufferOverflowStrategy;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.util.concurrent.Queues;

/**
 * Expert heat as a stream reduced on its own {@link Scheduler}, the race-free counterpart of the
 * side stream that was reverted upstream (DESIGN.md invariant 5).
 *
 * <p><b>Ownership.</b> The main path ({@link #onDispatch}, {@link #onStepEnd}) only hands samples
 * over, and the stream owns what it is handed whatever the caller does next: {@link #onDispatch}
 * copies the caller's counts, before it returns, into a sample buffer of the stream's own (pooled:
 * the heat worker gives each buffer back once it has added it up), and that buffer moves into a
 * bounded single-producer queue. The caller may overwrite or reuse its array at once. Only the heat
 * scheduler's worker reads the queue and touches the window accumulators. The main path never
 * waits: when the queue is full it adds the samples of one window into one accumulator it owns
 * (counted in {@link #coalescedSamples()}) and hands that over, in order, once the queue has room
 * (or at {@link #flush()}). Nothing is dropped.
 *
 * <p><b>Few wake-ups.</b> Waking the heat worker for every sample would cost the main path a thread
 * hand-off per layer and rank, on machines where every core is busy with ranks. So the main path
 * wakes it only at a window end, when the queue is half full, at {@link #flush()}, and when a
 * reader asks for {@link #currentWindow()}: the worker then takes every queued sample at once.
 *
 * <p><b>Consistent cut.</b> Windows are defined by step ids ({@code interval} steps each), and a
 * window's end is a marker the main path enqueues after that window's last step, behind all of its
 * samples. So every rank's snapshot of window k covers exactly the same steps, whatever the timing.
 *
 * <p><b>Aggregation.</b> At each window end the last {@code window/interval} windows are summed and
 * all-gathered over the mesh's CONTROL lane into a buffer allocated once; all-gathers run one at a
 * time, and each snapshot is copied out of that buffer, so a snapshot is immutable.
 */
public final class HeatStream implements HeatTap, Disposable {
  /**
   * One (step, layer)'s counts in a buffer the stream owns. The main path fills it from the
   * caller's array and hands it over; the heat worker adds it up and gives it back to the pool.
   */
  private static final class Sample {
    long step;
    int layer;
    final int[] counts;

    Sample(int slots) {
      this.counts = new int[slots];
    }

    Sample fill(long step, int layer, int[] from) {
      this.step = step;
      this.layer = layer;
      System.arraycopy(from, 0, counts, 0, counts.length);
      return this;
    }
  }

  private record WindowEnd(long window) {}

  /** Samples of one window the main path added up while the queue was full. */
  private static final class Coalesced {
    final long window;
    final long[] counts;
    long lastStep = -1;

    Coalesced(long window, int length) {
      this.window = window;
      this.counts = new long[length];
    }
  }

  private final HeatConfig config;
  private final RankMesh mesh;
  private final Scheduler.Worker worker;
  private final int cells;

  // main path to heat worker: samples and window ends, in order
  private final Queue<Object> queue;

  // heat worker to main path: sample buffers to fill again
  private final Queue<Sample> pool;

  // main path only: what the queue had no room for, and a buffer the queue refused
  private ArrayDeque<Object> backlog = new ArrayDeque<>();
  private @Nullable Sample spare;

  // main path only: samples queued since the heat worker was last woken, and when to wake it
  private int unsignalled;
  private final int signalEvery;

  // backlogs handed over by flush(), taken by the heat worker after the queue, in order
  private final Queue<ArrayDeque<Object>> flushed = new ConcurrentLinkedQueue<>();

  // readers waiting for the open window's counts, answered by the heat worker after it drained
  private final Queue<MonoSink<LocalHeat>> openWindowReaders = new ConcurrentLinkedQueue<>();

  // heat worker only
  private final long[][] ring;
  private final long[] ringWindow;
  private long openWindow;
  private long lastStepCounted = -1;

  // all-gather: one at a time, into a buffer allocated once
  private final long[] gathered;
  private final Sinks.Many<long[]> gatherRequests = Sinks.many().unicast().onBackpressureBuffer();
  private final Sinks.Many<HeatSnapshot> snapshots = Sinks.many().replay().latest();
  private final Sinks.Many<HeatSnapshot> nextSnapshots =
      Sinks.many().multicast().directBestEffort();
  private final Disposable.Swap gathering = Disposables.swap();

  private final AtomicInteger wip = new AtomicInteger();
  private final AtomicLong tokensCounted = new AtomicLong();
  private final AtomicLong coalesced = new AtomicLong();
  private final Meters meters;
  private final AtomicReference<@Nullable HeatSnapshot> latest = new AtomicReference<>();

  /** The counters of one rank's heat stream, registered before the stream exists. */
  private record Meters(
      Counter samples, Counter coalesced, Counter filtered, Counter tokens, Counter snapshots) {
    static Meters register(MeterRegistry registry, String rank) {
      return new Meters(
          registry.counter(HeatMeters.SAMPLES.meterName(), "rank", rank),
          registry.counter(HeatMeters.COALESCED.meterName(), "rank", rank),
          registry.counter(HeatMeters.FILTERED.meterName(), "rank", rank),
          registry.counter(HeatMeters.TOKENS.meterName(), "rank", rank),
          registry.counter(HeatMeters.SNAPSHOTS.meterName(), "rank", rank));
    }
  }

  private HeatStream(HeatConfig config, RankMesh mesh, Scheduler heatScheduler, Meters meters) {
    this.config = config;
    this.mesh = mesh;
    this.meters = meters;
    this.worker = heatScheduler.createWorker();
    this.cells = config.layers() * config.localSlots();
    this.queue = Queues.<Object>get(config.queueCapacity()).get();
    this.pool = Queues.<Sample>get(config.queueCapacity()).get();
    this.signalEvery = Math.max(1, config.queueCapacity() / 2);
    int windows = config.window() / config.interval();
    this.ring = new long[windows][cells];
    this.ringWindow = new long[windows];
    Arrays.fill(ringWindow, -1);
    this.gathered = new long[mesh.worldSize() * cells];
  }

  /**
   * Starts the heat stream of the rank on {@code mesh}: registers its meters (tagged with the rank)
   * in {@code registry} and starts aggregating on {@code heatScheduler}. Give it to the rank as its
   * {@link HeatTap}; dispose it when the rank is done.
   */
  public static HeatStream start(
      HeatConfig config, RankMesh mesh, Scheduler heatScheduler, MeterRegistry registry) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(mesh, "mesh");
    Objects.requireNonNull(heatScheduler, "heatScheduler");
    Objects.requireNonNull(registry, "registry");
    String rank = Integer.toString(mesh.rank());
    HeatStream stream =
        new HeatStream(config, mesh, heatScheduler, Meters.register(registry, rank));
    stream.registerGauges(registry, rank);
    stream.gathering.update(
        stream
            .gatherRequests
            .asFlux()
            .concatMap(stream::aggregate, 1)
            .subscribe(
                snapshot -> {
                  stream.latest.set(snapshot);
                  stream.meters.snapshots().increment();
                  stream.snapshots.tryEmitNext(snapshot);
                  stream.nextSnapshots.tryEmitNext(snapshot);
                },
                error -> {
                  stream.snapshots.tryEmitError(error);
                  stream.nextSnapshots.tryEmitError(error);
                },
                () -> {
                  stream.snapshots.tryEmitComplete();
                  stream.nextSnapshots.tryEmitComplete();
                }));
    return stream;
  }

  private void registerGauges(MeterRegistry registry, String rank) {
    for (int l = 0; l < config.layers(); l++) {
      int layer = l;
      Gauge.builder(
              HeatMeters.BALANCEDNESS.meterName(), latest, s -> layerValue(s.get(), layer, false))
          .tags("rank", rank, "layer", Integer.toString(l))
          .register(registry);
      Gauge.builder(
              HeatMeters.PEAK_TO_AVERAGE.meterName(), latest, s -> layerValue(s.get(), layer, true))
          .tags("rank", rank, "layer", Integer.toString(l))
          .register(registry);
    }
  }

  private static double layerValue(@Nullable HeatSnapshot snapshot, int layer, boolean peak) {
    if (snapshot == null) {
      return Double.NaN;
    }
    return peak ? snapshot.peakToAverage(layer) : snapshot.balancedness(layer);
  }

  // ---- main path

  @Override
  public void onDispatch(long step, int layer, boolean prefill, int[] countsPerLocalSlot) {
    if (!config.stages().accepts(prefill)) {
      meters.filtered().increment();
      return;
    }
    if (countsPerLocalSlot.length != config.localSlots()) {
      throw new IllegalArgumentException(
          countsPerLocalSlot.length
              + " slot counts, the heat stream expects "
              + config.localSlots());
    }
    if (backlogHandedOver()) {
      // the copy: from here on nothing refers to the caller's array
      Sample sample = emptySample().fill(step, layer, countsPerLocalSlot);
      if (queue.offer(sample)) {
        if (++unsignalled >= signalEvery) {
          signal();
        }
        return;
      }
      spare = sample;
    }
    coalesce(step, layer, countsPerLocalSlot);
    signal();
  }

  @Override
  public void onStepEnd(long step) {
    if ((step + 1) % config.interval() == 0) {
      WindowEnd end = new WindowEnd(config.windowOf(step));
      if (!backlogHandedOver() || !queue.offer(end)) {
        backlog.addLast(end);
      }
      signal();
    }
  }

  /**
   * Moves what the main path holds back into the queue while it has room; true when nothing is
   * left, so a new item may follow it into the queue. Nothing enters the queue while a flushed
   * backlog waits for the heat worker, since that backlog comes first.
   */
  private boolean backlogHandedOver() {
    if (!flushed.isEmpty()) {
      return false;
    }
    while (!backlog.isEmpty() && queue.offer(backlog.peekFirst())) {
      backlog.pollFirst();
    }
    return backlog.isEmpty();
  }

  private Sample emptySample() {
    Sample sample = spare;
    if (sample != null) {
      spare = null;
      return sample;
    }
    sample = pool.poll();
    return sample != null ? sample : new Sample(config.localSlots());
  }

  /** Adds the caller's counts to the backlog's accumulator for their window. */
  private void coalesce(long step, int layer, int[] counts) {
    long window = config.windowOf(step);
    Coalesced into =
        backlog.peekLast() instanceof Coalesced last && last.window == window ? last : null;
    if (into == null) {
      into = new Coalesced(window, cells);
      backlog.addLast(into);
    }
    int base = layer * config.localSlots();
    for (int s = 0; s < counts.length; s++) {
      into.counts[base + s] += counts[s];
    }
    into.lastStep = Math.max(into.lastStep, step);
    coalesced.incrementAndGet();
    meters.coalesced().increment();
  }

  /**
   * Hands over what the main path still holds back, without waiting: what the queue has no room for
   * goes to the heat worker as a whole, to be added up after what the queue holds. Call it on the
   * main path, or when the main path is idle (after the last step), for example before reading
   * {@link #tokensCounted()} at the end of a run.
   */
  public void flush() {
    if (!backlogHandedOver() && !backlog.isEmpty()) {
      flushed.offer(backlog);
      backlog = new ArrayDeque<>();
    }
    signal();
  }

  /** Wakes the heat worker from the main path. */
  private void signal() {
    unsignalled = 0;
    wake();
  }

  /** Makes sure the heat worker drains soon; from any thread. */
  private void wake() {
    if (wip.getAndIncrement() == 0) {
      worker.schedule(this::drain);
    }
  }

  // ---- heat worker

  private void drain() {
    int missed = 1;
    do {
      Object item;
      while ((item = queue.poll()) != null) {
        take(item);
      }
      // A flushed backlog is newer than everything in the queue, and the main path adds nothing
      // to the queue until the backlog is gone: take it whole, then let it go.
      ArrayDeque<Object> backlogged;
      while ((backlogged = flushed.peek()) != null) {
        backlogged.forEach(this::take);
        flushed.poll();
      }
      MonoSink<LocalHeat> reader;
      while ((reader = openWindowReaders.poll()) != null) {
        reader.success(openWindowCounts());
      }
      missed = wip.addAndGet(-missed);
    } while (missed != 0);
  }

  private void take(Object item) {
    if (item instanceof Sample sample) {
      add(sample);
      pool.offer(sample);
    } else if (item instanceof Coalesced sum) {
      add(sum);
    } else {
      endWindow(((WindowEnd) item).window());
    }
  }

  private long[] bucket(long window) {
    int index = (int) (window % ring.length);
    if (ringWindow[index] != window) {
      Arrays.fill(ring[index], 0);
      ringWindow[index] = window;
    }
    return ring[index];
  }

  private void add(Sample sample) {
    long window = config.windowOf(sample.step);
    long[] bucket = bucket(window);
    int base = sample.layer * config.localSlots();
    long tokens = 0;
    for (int s = 0; s < sample.counts.length; s++) {
      bucket[base + s] += sample.counts[s];
      tokens += sample.counts[s];
    }
    counted(window, sample.step, tokens);
    meters.samples().increment();
  }

  private void add(Coalesced sum) {
    long[] bucket = bucket(sum.window);
    long tokens = 0;
    for (int i = 0; i < cells; i++) {
      bucket[i] += sum.counts[i];
      tokens += sum.counts[i];
    }
    counted(sum.window, sum.lastStep, tokens);
  }

  private void counted(long window, long step, long tokens) {
    openWindow = Math.max(openWindow, window);
    lastStepCounted = Math.max(lastStepCounted, step);
    tokensCounted.addAndGet(tokens);
    meters.tokens().increment(tokens);
  }

  private void endWindow(long window) {
    long[] local = new long[cells + 1];
    local[cells] = window;
    sumWindowsUpTo(window, local);
    openWindow = Math.max(openWindow, window + 1);
    gatherRequests.tryEmitNext(local);
  }

  /**
   * Adds the windows a snapshot ending with {@code window} covers into {@code into[0 .. cells)}.
   */
  private void sumWindowsUpTo(long window, long[] into) {
    long first = Math.max(0, window - ring.length + 1);
    for (long w = first; w <= window; w++) {
      int index = (int) (w % ring.length);
      if (ringWindow[index] == w) {
        for (int i = 0; i < cells; i++) {
          into[i] += ring[index][i];
        }
      }
    }
  }

  /** This rank's counts so far for the window still open, on the heat worker. */
  private LocalHeat openWindowCounts() {
    long[] counts = new long[cells];
    sumWindowsUpTo(openWindow, counts);
    long to = (openWindow + 1) * config.interval();
    long from = Math.max(0, to - config.window());
    long counted = Math.max(from, Math.min(to, lastStepCounted + 1));
    return new LocalHeat(mesh.rank(), from, counted, config.layers(), config.localSlots(), counts);
  }

  // ---- aggregation, one all-gather at a time

  private Mono<HeatSnapshot> aggregate(long[] request) {
    long window = request[cells];
    long[] values = Arrays.copyOf(request, cells);
    return Collectives.allGatherLongs(mesh, FrameKind.HEAT, window, 0, values, gathered)
        .map(all -> snapshot(window, all));
  }

  private HeatSnapshot snapshot(long window, long[] all) {
    int ranks = mesh.worldSize();
    int layers = config.layers();
    int slots = config.localSlots();
    long[] counts = new long[layers * ranks * slots];
    for (int r = 0; r < ranks; r++) {
      for (int l = 0; l < layers; l++) {
        System.arraycopy(all, r * cells + l * slots, counts, (l * ranks + r) * slots, slots);
      }
    }
    long to = (window + 1) * config.interval();
    long from = Math.max(0, to - config.window());
    return new HeatSnapshot(from, to, layers, ranks, slots, counts);
  }

  // ---- for users

  /**
   * Every aggregated snapshot, in window order; a late subscriber first gets the latest. Errors
   * when an all-gather fails (a lost peer); the main path is never affected.
   */
  public Flux<HeatSnapshot> snapshots() {
    return snapshots.asFlux();
  }

  /**
   * Every aggregated snapshot completed from now on, in window order, without the replay {@link
   * #snapshots()} starts with. A subscriber slower than the windows keeps the latest 64 it has not
   * taken (older ones are dropped). Errors like {@link #snapshots()}.
   */
  public Flux<HeatSnapshot> nextSnapshots() {
    return nextSnapshots
        .asFlux()
        .onBackpressureBuffer(64, dropped -> {}, BufferOverflowStrategy.DROP_OLDEST);
  }

  /**
   * This rank's own counts for the window still open (the steps the next snapshot will cover), read
   * on the heat scheduler as soon as it is free, after it has taken every sample handed over so
   * far: what this rank has counted, before any all-gather. Errors when the stream is disposed.
   */
  public Mono<LocalHeat> currentWindow() {
    return Mono.create(
        sink -> {
          openWindowReaders.offer(sink);
          try {
            wake();
          } catch (RejectedExecutionException disposed) {
            failOpenWindowReaders(disposed);
          }
          if (worker.isDisposed()) {
            failOpenWindowReaders(new RejectedExecutionException("the heat stream is disposed"));
          }
        });
  }

  private void failOpenWindowReaders(Throwable why) {
    MonoSink<LocalHeat> reader;
    while ((reader = openWindowReaders.poll()) != null) {
      reader.error(why);
    }
  }

  /** The latest snapshot, or null before the first. */
  public @Nullable HeatSnapshot latest() {
    return latest.get();
  }

  /** Tokens this rank's heat accumulators have counted so far (heat worker's view). */
  public long tokensCounted() {
    return tokensCounted.get();
  }

  /** Samples the main path coalesced because the heat scheduler fell behind. */
  public long coalescedSamples() {
    return coalesced.get();
  }

  public HeatConfig config() {
    return config;
  }

  @Override
  public void dispose() {
    gatherRequests.tryEmitComplete();
    gathering.dispose();
    worker.dispose();
    failOpenWindowReaders(new RejectedExecutionException("the heat stream is disposed"));
  }

  @Override
  public boolean isDisposed() {
    return worker.isDisposed();
  }
}
