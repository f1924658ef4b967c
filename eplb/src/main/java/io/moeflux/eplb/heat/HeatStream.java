package io.moeflux.eplb.heat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.moeflux.pipeline.HeatTap;
import io.moeflux.transport.Collectives;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.FrameKind;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.util.concurrent.Queues;

/**
 * Expert heat as a stream reduced on its own {@link Scheduler}, the race-free counterpart of the
 * side stream that was reverted upstream (DESIGN.md invariant 5).
 *
 * <p><b>Ownership.</b> The main path ({@link #onDispatch}, {@link #onStepEnd}) only hands samples
 * over: each sample's count array moves into a bounded single-producer queue, and the main path
 * never touches it again. Only the heat scheduler's worker reads the queue and touches the window
 * accumulators. The main path never waits: when the queue is full it coalesces the samples of one
 * window into one accumulator it owns (counted in {@link #coalescedSamples()}) and hands that over,
 * in order, once the queue has room. Nothing is dropped.
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
  private record Sample(long step, int layer, int[] counts) {}

  private record WindowEnd(long window) {}

  /** Samples of one window the main path added up while the queue was full. */
  private static final class Coalesced {
    final long window;
    final long[] counts;

    Coalesced(long window, int length) {
      this.window = window;
      this.counts = new long[length];
    }
  }

  private final HeatConfig config;
  private final RankMesh mesh;
  private final Scheduler.Worker worker;
  private final int cells;

  // main path only
  private final Queue<Object> queue;
  private final ArrayDeque<Object> backlog = new ArrayDeque<>();

  // heat worker only
  private final long[][] ring;
  private final long[] ringWindow;

  // all-gather: one at a time, into a buffer allocated once
  private final long[] gathered;
  private final Sinks.Many<long[]> gatherRequests = Sinks.many().unicast().onBackpressureBuffer();
  private final Sinks.Many<HeatSnapshot> snapshots = Sinks.many().replay().latest();
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
    int windows = config.window() / config.interval();
    this.ring = new long[windows][cells];
    this.ringWindow = new long[windows];
    java.util.Arrays.fill(ringWindow, -1);
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
                },
                stream.snapshots::tryEmitError,
                stream.snapshots::tryEmitComplete));
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
    handOver(new Sample(step, layer, countsPerLocalSlot));
  }

  @Override
  public void onStepEnd(long step) {
    if ((step + 1) % config.interval() == 0) {
      handOver(new WindowEnd(config.windowOf(step)));
    }
  }

  private void handOver(Object item) {
    while (!backlog.isEmpty() && queue.offer(backlog.peekFirst())) {
      backlog.pollFirst();
    }
    if (backlog.isEmpty() && queue.offer(item)) {
      signal();
      return;
    }
    if (item instanceof Sample sample) {
      long window = config.windowOf(sample.step());
      Coalesced into =
          backlog.peekLast() instanceof Coalesced last && last.window == window ? last : null;
      if (into == null) {
        into = new Coalesced(window, cells);
        backlog.addLast(into);
      }
      int base = sample.layer() * config.localSlots();
      for (int s = 0; s < sample.counts().length; s++) {
        into.counts[base + s] += sample.counts()[s];
      }
      coalesced.incrementAndGet();
      meters.coalesced().increment();
    } else {
      backlog.addLast(item);
    }
    signal();
  }

  /**
   * Hands over what the main path still holds back. Call it only when the main path is idle (after
   * the last step), for example before reading {@link #tokensCounted()} at the end of a run.
   */
  public void flush() {
    while (!backlog.isEmpty()) {
      if (queue.offer(backlog.peekFirst())) {
        backlog.pollFirst();
        signal();
      } else {
        Thread.onSpinWait();
      }
    }
  }

  private void signal() {
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
        if (item instanceof Sample sample) {
          add(sample);
        } else if (item instanceof Coalesced sum) {
          add(sum);
        } else {
          endWindow(((WindowEnd) item).window());
        }
      }
      missed = wip.addAndGet(-missed);
    } while (missed != 0);
  }

  private long[] bucket(long window) {
    int index = (int) (window % ring.length);
    if (ringWindow[index] != window) {
      java.util.Arrays.fill(ring[index], 0);
      ringWindow[index] = window;
    }
    return ring[index];
  }

  private void add(Sample sample) {
    long[] bucket = bucket(config.windowOf(sample.step()));
    int base = sample.layer() * config.localSlots();
    long tokens = 0;
    for (int s = 0; s < sample.counts().length; s++) {
      bucket[base + s] += sample.counts()[s];
      tokens += sample.counts()[s];
    }
    tokensCounted.addAndGet(tokens);
    meters.tokens().increment(tokens);
    meters.samples().increment();
  }

  private void add(Coalesced sum) {
    long[] bucket = bucket(sum.window);
    long tokens = 0;
    for (int i = 0; i < cells; i++) {
      bucket[i] += sum.counts[i];
      tokens += sum.counts[i];
    }
    tokensCounted.addAndGet(tokens);
    meters.tokens().increment(tokens);
  }

  private void endWindow(long window) {
    long[] local = new long[cells + 1];
    local[cells] = window;
    long first = Math.max(0, window - ring.length + 1);
    for (long w = first; w <= window; w++) {
      int index = (int) (w % ring.length);
      if (ringWindow[index] == w) {
        for (int i = 0; i < cells; i++) {
          local[i] += ring[index][i];
        }
      }
    }
    gatherRequests.tryEmitNext(local);
  }

  // ---- aggregation, one all-gather at a time

  private Mono<HeatSnapshot> aggregate(long[] request) {
    long window = request[cells];
    long[] values = java.util.Arrays.copyOf(request, cells);
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
  }

  @Override
  public boolean isDisposed() {
    return worker.isDisposed();
  }
}
