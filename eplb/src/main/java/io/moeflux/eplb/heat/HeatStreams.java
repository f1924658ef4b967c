package io.moeflux.eplb.heat;

import io.micrometer.core.instrument.MeterRegistry;
import io.moeflux.pipeline.RankContext;
import io.moeflux.pipeline.RankExtensions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentSkipListMap;
import reactor.core.Disposable;
import reactor.core.scheduler.Scheduler;

/**
 * The heat streams of a rank group in this JVM, one per rank, all with the same snapshot interval,
 * on one heat scheduler and one meter registry. {@link #start} is the heat-tap factory to give each
 * rank ({@link RankExtensions.Builder#heatTap}); the streams it starts are kept by rank, for the
 * rank's other extensions (a rebalancer reads its rank's heat) and for whoever runs the group.
 *
 * <p>Disposing it disposes every stream it started; the scheduler stays the caller's.
 */
public final class HeatStreams implements Disposable {
  private final int interval;
  private final Scheduler heatScheduler;
  private final MeterRegistry registry;
  private final Map<Integer, HeatStream> byRank = new ConcurrentSkipListMap<>();
  private volatile boolean disposed;

  /**
   * @param interval steps per heat snapshot ({@link HeatConfig.Builder#interval})
   */
  public HeatStreams(int interval, Scheduler heatScheduler, MeterRegistry registry) {
    this.interval = interval;
    this.heatScheduler = Objects.requireNonNull(heatScheduler, "heatScheduler");
    this.registry = Objects.requireNonNull(registry, "registry");
  }

  /**
   * Starts the heat stream of {@code rank}: its layers and local slots from the rank's
   * configuration, its exchanges on the rank's mesh. Called by the rank as it starts.
   */
  public HeatStream start(RankContext rank) {
    HeatConfig config =
        HeatConfig.builder()
            .layers(rank.config().model().layers())
            .localSlots(rank.config().initialPlacement(rank.worldSize()).slotsPerRank())
            .interval(interval)
            .build();
    HeatStream heat = HeatStream.start(config, rank.mesh(), heatScheduler, registry);
    byRank.put(rank.rank(), heat);
    return heat;
  }

  /** The stream started for {@code rank}. */
  public HeatStream of(int rank) {
    HeatStream heat = byRank.get(rank);
    if (heat == null) {
      throw new IllegalStateException("no heat stream was started for rank " + rank);
    }
    return heat;
  }

  /** The streams started so far, in rank order. */
  public List<HeatStream> all() {
    return new ArrayList<>(byRank.values());
  }

  @Override
  public void dispose() {
    disposed = true;
    byRank.values().forEach(HeatStream::dispose);
  }

  @Override
  public boolean isDisposed() {
    return disposed;
  }
}
