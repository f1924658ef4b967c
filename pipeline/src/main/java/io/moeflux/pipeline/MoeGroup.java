package io.moeflux.pipeline;

import io.moeflux.pipeline.model.ExpertBank;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.SyntheticModel;
import io.moeflux.transport.DirectMemory;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.TransportKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.IntFunction;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Several ranks of one MoE group in this JVM, over loopback TCP or the in-JVM transport. Ranks
 * given the same configuration share its model (a synthetic model's expert bank, a checkpoint's
 * routers and shared experts), since weights are immutable; each loads its own routed experts.
 */
public final class MoeGroup implements Disposable {
  private final List<MoeRank> ranks;
  private final MoeModel model;

  private MoeGroup(List<MoeRank> ranks, MoeModel model) {
    this.ranks = List.copyOf(ranks);
    this.model = model;
  }

  public static Mono<MoeGroup> start(int size, TransportKind transport, PipelineConfig config) {
    return start(size, transport, config, RankExtensions.none());
  }

  /** Starts {@code size} ranks with one configuration, each extended by {@code extensions}. */
  public static Mono<MoeGroup> start(
      int size, TransportKind transport, PipelineConfig config, RankExtensions extensions) {
    Objects.requireNonNull(config, "config");
    return start(size, transport, rank -> config, extensions);
  }

  /**
   * Starts {@code size} ranks concurrently (each waits for its peers) and completes when all have
   * joined the mesh. {@code configs} gives each rank its configuration: the model and capacity must
   * match (the handshake checks), the sync options may differ (start-up checks that the decisions
   * agree).
   */
  public static Mono<MoeGroup> start(
      int size,
      TransportKind transport,
      IntFunction<PipelineConfig> configs,
      RankExtensions extensions) {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(configs, "configs");
    Objects.requireNonNull(extensions, "extensions");
    List<MeshConfig> meshes =
        MeshConfigs.group(transport, size, MoeRank.fingerprint(configs.apply(0)));
    return start(meshes, configs, extensions);
  }

  /**
   * Starts one rank per mesh configuration (in rank order), e.g. with addresses that route through
   * a proxy.
   */
  public static Mono<MoeGroup> start(
      List<MeshConfig> meshes, IntFunction<PipelineConfig> configs, RankExtensions extensions) {
    Objects.requireNonNull(meshes, "meshes");
    Objects.requireNonNull(configs, "configs");
    Objects.requireNonNull(extensions, "extensions");
    MoeModel model = configs.apply(0).model();
    try {
      StepMemory.checkFits(configs.apply(0), meshes.size(), meshes.size(), DirectMemory.limit());
    } catch (PipelineException e) {
      return Mono.error(e);
    }
    return Flux.fromIterable(meshes)
        .flatMap(
            mesh -> MoeRank.start(mesh, configs.apply(mesh.rank()), extensions, meshes.size()),
            meshes.size())
        .collectSortedList((a, b) -> Integer.compare(a.rank(), b.rank()))
        .doOnDiscard(MoeRank.class, MoeRank::dispose)
        .map(started -> new MoeGroup(started, model));
  }

  public int size() {
    return ranks.size();
  }

  public MoeRank rank(int rank) {
    return ranks.get(rank);
  }

  public List<MoeRank> ranks() {
    return ranks;
  }

  /** The model of rank 0's configuration, for reference checks. */
  public MoeModel model() {
    return model;
  }

  /**
   * The expert bank of a synthetic model, for reference checks.
   *
   * @throws IllegalStateException when the group runs a checkpoint model
   */
  public ExpertBank bank() {
    if (model instanceof SyntheticModel synthetic) {
      return synthetic.bank();
    }
    throw new IllegalStateException("the group runs the " + model.describe() + ", not a bank");
  }

  /**
   * Runs one input stream per rank, all at once, and emits each step's outputs as a list in rank
   * order.
   */
  public Flux<List<TokenBatch>> forward(List<? extends Publisher<TokenBatch>> inputs) {
    if (inputs.size() != ranks.size()) {
      return Flux.error(
          new IllegalArgumentException(
              "need one input stream per rank: "
                  + ranks.size()
                  + " ranks, "
                  + inputs.size()
                  + " streams"));
    }
    List<Flux<TokenBatch>> outputs = new ArrayList<>(ranks.size());
    for (int r = 0; r < ranks.size(); r++) {
      outputs.add(ranks.get(r).forward(inputs.get(r)));
    }
    return Flux.zip(
        outputs,
        values -> {
          List<TokenBatch> step = new ArrayList<>(values.length);
          for (Object v : values) {
            step.add((TokenBatch) v);
          }
          return step;
        });
  }

  /** Closes every rank after a final barrier, so no frame is cut off. */
  public Mono<Void> close() {
    return Flux.fromIterable(ranks).flatMap(MoeRank::close, ranks.size()).then();
  }

  @Override
  public void dispose() {
    ranks.forEach(MoeRank::dispose);
  }

  @Override
  public boolean isDisposed() {
    return ranks.stream().allMatch(MoeRank::isDisposed);
  }
}
