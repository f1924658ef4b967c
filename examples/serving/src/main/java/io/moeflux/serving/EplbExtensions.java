package io.moeflux.serving;

import io.micrometer.core.instrument.MeterRegistry;
import io.moeflux.eplb.heat.HeatStream;
import io.moeflux.eplb.heat.HeatStreams;
import io.moeflux.eplb.rebalance.RebalanceOptions;
import io.moeflux.eplb.rebalance.Rebalancer;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.RankExtensions;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.Disposable;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The EPLB loop as rank extensions: for each rank started with {@link #extensions()}, a heat stream
 * (its heat tap; the window is the switch interval) and a rebalancer on it (its placement source).
 * The ranks of this JVM share one heat scheduler and one planner scheduler. {@link #dispose()}
 * releases every heat stream, rebalancer and scheduler made.
 */
final class EplbExtensions implements Disposable {
  private final Scheduler heatScheduler = Schedulers.newSingle("moeflux-heat");
  private final Scheduler planner = Schedulers.newSingle("moeflux-planner");
  private final HeatStreams heats;
  private final Map<Integer, Rebalancer> balancers = new ConcurrentHashMap<>();
  private final RankExtensions extensions;

  /**
   * @throws IllegalArgumentException when {@code config.switches()} is off: there would be nothing
   *     to switch at
   */
  EplbExtensions(PipelineConfig config, MeterRegistry registry) {
    this(config, registry, RebalanceOptions.defaults());
  }

  /**
   * As {@link #EplbExtensions(PipelineConfig, MeterRegistry)}, the balancers deciding by {@code
   * options}.
   */
  EplbExtensions(PipelineConfig config, MeterRegistry registry, RebalanceOptions options) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(options, "options");
    if (!config.switches().enabled()) {
      throw new IllegalArgumentException("the switch schedule is off: nothing to switch at");
    }
    this.heats = new HeatStreams(config.switches().interval(), heatScheduler, registry);
    this.extensions =
        RankExtensions.builder()
            .heatTap(heats::start)
            .placementSource(
                rank -> {
                  Rebalancer balancer =
                      Rebalancer.start(rank, heats.of(rank.rank()), options, planner);
                  balancers.put(rank.rank(), balancer);
                  return balancer;
                })
            .build();
  }

  RankExtensions extensions() {
    return extensions;
  }

  /** The heat stream made for {@code rank}. */
  HeatStream heat(int rank) {
    return heats.of(rank);
  }

  /** The rebalancer made for {@code rank}. */
  Rebalancer balancer(int rank) {
    return Objects.requireNonNull(balancers.get(rank), "no rebalancer for that rank");
  }

  @Override
  public void dispose() {
    balancers.values().forEach(Rebalancer::dispose);
    heats.dispose();
    heatScheduler.dispose();
    planner.dispose();
  }

  @Override
  public boolean isDisposed() {
    return heatScheduler.isDisposed();
  }
}
