package io.moeflux.serving;

import io.micrometer.core.instrument.MeterRegistry;
import io.moeflux.eplb.heat.HeatStream;
import io.moeflux.eplb.rebalance.Rebalancer;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.transport.MeshConfig;
import java.util.Objects;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * One rank in its own process with the whole EPLB loop on: its heat stream, its rebalancer, and the
 * schedulers they run on. Its peers, in their own processes, must run the same loop (the same
 * configuration, checked at handshake), so that every rank plans on the same heat and switches at
 * the same step.
 */
public final class BalancedRank implements Disposable {
  private final MoeRank rank;
  private final EplbExtensions eplb;

  private BalancedRank(MoeRank rank, EplbExtensions eplb) {
    this.rank = rank;
    this.eplb = eplb;
  }

  /**
   * Starts the rank when subscribed (joining the mesh of {@code mesh}) with its heat stream and
   * rebalancer; {@code config.switches()} must be on, and its interval is also the heat window. If
   * start-up fails, what was made for the rank is released with it.
   */
  public static Mono<BalancedRank> start(
      MeshConfig mesh, PipelineConfig config, MeterRegistry registry) {
    Objects.requireNonNull(mesh, "mesh");
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(registry, "registry");
    return Mono.defer(
        () -> {
          EplbExtensions eplb = new EplbExtensions(config, registry);
          return MoeRank.start(mesh, config, eplb.extensions())
              .map(rank -> new BalancedRank(rank, eplb))
              .doOnError(error -> eplb.dispose())
              .doOnCancel(eplb::dispose);
        });
  }

  public MoeRank rank() {
    return rank;
  }

  public HeatStream heat() {
    return eplb.heat(rank.rank());
  }

  public Rebalancer balancer() {
    return eplb.balancer(rank.rank());
  }

  @Override
  public void dispose() {
    eplb.dispose();
    rank.dispose();
  }

  @Override
  public boolean isDisposed() {
    return rank.isDisposed();
  }
}
