package io.moeflux.serving;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.eplb.heat.HeatStream;
import io.moeflux.eplb.heat.HeatStreams;
import io.moeflux.eplb.rebalance.RebalanceOptions;
import io.moeflux.eplb.rebalance.Rebalancer;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.RankExtensions;
import io.moeflux.transport.TransportKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * A rank group in this JVM with the whole EPLB loop on: a heat stream per rank (one heat
 * scheduler), a rebalancer per rank (one planner scheduler), and meters for bytes moved, heat,
 * rebalances and migrations.
 */
public final class BalancedGroup implements Disposable {
  private final MoeGroup group;
  private final HeatStreams heats;
  private final List<Rebalancer> balancers;
  private final Scheduler heatScheduler;
  private final Scheduler planner;

  private BalancedGroup(
      MoeGroup group,
      HeatStreams heats,
      List<Rebalancer> balancers,
      Scheduler heatScheduler,
      Scheduler planner) {
    this.group = group;
    this.heats = heats;
    this.balancers = balancers;
    this.heatScheduler = heatScheduler;
    this.planner = planner;
  }

  /**
   * Starts the group when subscribed and emits it once every rank has joined the mesh and has its
   * heat stream and rebalancer; {@code config.switches()} must be on, and its interval is also the
   * heat window. Nothing waits on the caller's thread: the mesh connects on its own event loops. If
   * start-up fails, the heat streams, rebalancers and schedulers made for the group are released
   * with it.
   */
  public static Mono<BalancedGroup> start(
      int ranks, TransportKind transport, PipelineConfig config, MeterRegistry registry) {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(registry, "registry");
    return Mono.defer(
        () -> {
          Scheduler heatScheduler = Schedulers.newSingle("moeflux-heat");
          Scheduler planner = Schedulers.newSingle("moeflux-planner");
          HeatStreams heats =
              new HeatStreams(config.switches().interval(), heatScheduler, registry);
          Map<Integer, Rebalancer> balancerByRank = new ConcurrentHashMap<>();
          Runnable release =
              () -> {
                balancerByRank.values().forEach(Rebalancer::dispose);
                heats.dispose();
                heatScheduler.dispose();
                planner.dispose();
              };
          RankExtensions extensions =
              RankExtensions.builder()
                  .heatTap(heats::start)
                  .placementSource(
                      rank -> {
                        Rebalancer balancer =
                            Rebalancer.start(
                                rank, heats.of(rank.rank()), RebalanceOptions.defaults(), planner);
                        balancerByRank.put(rank.rank(), balancer);
                        return balancer;
                      })
                  .build();
          return MoeGroup.start(ranks, transport, config, extensions)
              .map(
                  group -> assemble(group, heats, balancerByRank, heatScheduler, planner, registry))
              .doOnError(error -> release.run())
              .doOnCancel(release);
        });
  }

  /** Puts a started group together with its ranks' heat streams and rebalancers; adds meters. */
  private static BalancedGroup assemble(
      MoeGroup group,
      HeatStreams heats,
      Map<Integer, Rebalancer> balancerByRank,
      Scheduler heatScheduler,
      Scheduler planner,
      MeterRegistry registry) {
    List<Rebalancer> balancers = new ArrayList<>();
    for (MoeRank rank : group.ranks()) {
      Rebalancer balancer = balancerByRank.get(rank.rank());
      balancers.add(balancer);
      String tag = Integer.toString(rank.rank());
      FunctionCounter.builder("moeflux.mesh.payload.bytes", rank, r -> r.status().hiddenBytesSent())
          .description("hidden-vector bytes sent in dispatch and combine")
          .tag("rank", tag)
          .register(registry);
      FunctionCounter.builder("moeflux.eplb.rebalances", balancer, Rebalancer::switches)
          .tag("rank", tag)
          .register(registry);
      FunctionCounter.builder("moeflux.eplb.migrated.bytes", balancer, Rebalancer::bytesMigrated)
          .tag("rank", tag)
          .register(registry);
    }
    return new BalancedGroup(group, heats, balancers, heatScheduler, planner);
  }

  public MoeGroup group() {
    return group;
  }

  public HeatStream heat(int rank) {
    return heats.of(rank);
  }

  public Rebalancer balancer(int rank) {
    return balancers.get(rank);
  }

  /** The latest aggregated heat (every rank has the same), or null before the first window. */
  public @Nullable HeatSnapshot latestHeat() {
    return heats.of(0).latest();
  }

  @Override
  public void dispose() {
    balancers.forEach(Rebalancer::dispose);
    heats.dispose();
    group.dispose();
    heatScheduler.dispose();
    planner.dispose();
  }

  @Override
  public boolean isDisposed() {
    return group.isDisposed();
  }
}
