package io.moeflux.serving;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.eplb.heat.HeatStream;
import io.moeflux.eplb.rebalance.RebalanceOptions;
import io.moeflux.eplb.rebalance.Rebalancer;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.TransportKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * A rank group in this JVM with the whole EPLB loop on: a heat stream per rank (one heat
 * scheduler), a rebalancer per rank (one planner scheduler), and meters for bytes moved, heat,
 * rebalances and migrations.
 */
public final class BalancedGroup implements Disposable {
  private final MoeGroup group;
  private final EplbExtensions eplb;
  private final List<Rebalancer> balancers = new ArrayList<>();

  private BalancedGroup(MoeGroup group, EplbExtensions eplb) {
    this.group = group;
    this.eplb = eplb;
    for (MoeRank rank : group.ranks()) {
      balancers.add(eplb.balancer(rank.rank()));
    }
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
    return start(ranks, transport, config, registry, RebalanceOptions.defaults());
  }

  /**
   * As {@link #start(int, TransportKind, PipelineConfig, MeterRegistry)}, every rank's balancer
   * deciding by {@code options} (its policy, weighted or equal shares, thresholds).
   */
  public static Mono<BalancedGroup> start(
      int ranks,
      TransportKind transport,
      PipelineConfig config,
      MeterRegistry registry,
      RebalanceOptions options) {
    Objects.requireNonNull(transport, "transport");
    return Mono.defer(
        () ->
            start(
                MeshConfigs.group(transport.forGroup(ranks), ranks, MoeRank.fingerprint(config)),
                config,
                registry,
                options));
  }

  /**
   * As {@link #start(int, TransportKind, PipelineConfig, MeterRegistry)}, one rank per mesh
   * configuration (in rank order): for addresses, a secret or TLS of the caller's choosing.
   */
  public static Mono<BalancedGroup> start(
      List<MeshConfig> meshes, PipelineConfig config, MeterRegistry registry) {
    return start(meshes, config, registry, RebalanceOptions.defaults());
  }

  /**
   * As {@link #start(List, PipelineConfig, MeterRegistry)}, balancers deciding by {@code options}.
   */
  public static Mono<BalancedGroup> start(
      List<MeshConfig> meshes,
      PipelineConfig config,
      MeterRegistry registry,
      RebalanceOptions options) {
    Objects.requireNonNull(meshes, "meshes");
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(options, "options");
    return Mono.defer(
        () -> {
          EplbExtensions eplb = new EplbExtensions(config, registry, options);
          return MoeGroup.start(meshes, rank -> config, eplb.extensions())
              .map(group -> new BalancedGroup(group, eplb))
              .doOnNext(balanced -> balanced.registerMeters(registry))
              .doOnError(error -> eplb.dispose())
              .doOnCancel(eplb::dispose);
        });
  }

  /** Meters per rank: hidden bytes sent, rebalances, expert bytes migrated. */
  private void registerMeters(MeterRegistry registry) {
    for (MoeRank rank : group.ranks()) {
      Rebalancer balancer = balancers.get(rank.rank());
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
  }

  public MoeGroup group() {
    return group;
  }

  public HeatStream heat(int rank) {
    return eplb.heat(rank);
  }

  public Rebalancer balancer(int rank) {
    return balancers.get(rank);
  }

  /** The latest aggregated heat (every rank has the same), or null before the first window. */
  public @Nullable HeatSnapshot latestHeat() {
    return eplb.heat(0).latest();
  }

  @Override
  public void dispose() {
    eplb.dispose();
    group.dispose();
  }

  @Override
  public boolean isDisposed() {
    return group.isDisposed();
  }
}
