package io.moeflux.pipeline;

import io.moeflux.pipeline.layer.Refusal;
import io.moeflux.pipeline.layer.StepRunner;
import io.moeflux.pipeline.model.ExpertBank;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.Router;
import io.moeflux.pipeline.placement.PlacementGate;
import io.moeflux.pipeline.placement.PlacementSource;
import io.moeflux.pipeline.placement.PreparedPlacement;
import io.moeflux.pipeline.sync.DpMetadataSync;
import io.moeflux.pipeline.sync.SyncDecision;
import io.moeflux.transport.Collectives;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.RankMesh;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * One rank of an expert-parallel MoE group: push a {@code Flux<TokenBatch>} through {@link
 * #forward} and get the MoE layers' outputs back, one batch per step, in step order.
 *
 * <p>Every rank must run every step, in step-id order, with consecutive step ids; a rank with no
 * tokens sends {@link TokenBatch#empty}. A batch this rank cannot run (wrong hidden size, or, on a
 * rank that skips the DP metadata sync, over {@link PipelineConfig#maxTokensPerRank()} or a prefill
 * batch) fails the step with an error on this rank, and every peer fails the same step instead of
 * waiting for it.
 */
public final class MoeRank implements Disposable {
  private final RankMesh mesh;
  private final PipelineConfig config;
  private final ExpertBank bank;
  private final Router[] routers;
  private final StepRunner moeStep;
  private final AtomicBoolean running = new AtomicBoolean();
  private final PlacementGate gate;
  private volatile PlacementSource placementSource = PlacementSource.NONE;
  private volatile Placement placement;
  private volatile ExpertFfn[][] experts;
  private long lastStep = -1;

  private MoeRank(
      RankMesh mesh,
      PipelineConfig config,
      SyncDecision decision,
      ExpertBank bank,
      HeatTap heatTap) {
    this.mesh = mesh;
    this.config = config;
    this.bank = bank;
    ModelConfig model = config.model();
    this.routers = new Router[model.layers()];
    for (int l = 0; l < routers.length; l++) {
      routers[l] = Router.of(model, l);
    }
    this.placement = config.initialPlacement(mesh.worldSize());
    this.experts = localExperts(placement);
    this.gate = new PlacementGate(mesh);
    this.moeStep = new StepRunner(mesh, config, decision, placement, heatTap);
  }

  /** Starts a rank with its own expert bank and no heat tap. */
  public static Mono<MoeRank> start(MeshConfig meshConfig, PipelineConfig config) {
    return start(meshConfig, config, new ExpertBank(config.model()), mesh -> HeatTap.NONE);
  }

  /**
   * Starts a rank: joins the mesh (the handshake compares {@link #fingerprint(PipelineConfig)}),
   * checks that every rank made the same decision on the DP metadata sync, loads this rank's
   * experts from {@code bank}, and attaches the heat tap made from the mesh.
   */
  public static Mono<MoeRank> start(
      MeshConfig meshConfig,
      PipelineConfig config,
      ExpertBank bank,
      Function<RankMesh, HeatTap> heatTaps) {
    Objects.requireNonNull(meshConfig, "meshConfig");
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(bank, "bank");
    Objects.requireNonNull(heatTaps, "heatTaps");
    int experts = config.model().experts();
    if (experts % meshConfig.worldSize() != 0) {
      return Mono.error(
          new IllegalArgumentException(
              experts
                  + " experts cannot be spread evenly over "
                  + meshConfig.worldSize()
                  + " ranks"));
    }
    SyncDecision decision = SyncDecision.decide(config.sync(), config.maxTokensPerRank());
    return RankMesh.start(meshConfig.toBuilder().fingerprint(fingerprint(config)).build())
        .flatMap(
            mesh ->
                DpMetadataSync.agree(mesh, decision)
                    .onErrorResume(error -> mesh.leave().then(Mono.error(error)))
                    .then(
                        Mono.fromCallable(
                            () ->
                                new MoeRank(mesh, config, decision, bank, heatTaps.apply(mesh)))));
  }

  /**
   * What ranks compare at handshake, one entry each: the model's own fingerprint, the capacity, the
   * placement switch schedule and the redundant slots. A mismatch is refused naming the entries.
   */
  public static MeshFingerprint fingerprint(PipelineConfig config) {
    return MeshFingerprint.builder()
        .put("model", config.model().fingerprint())
        .put("capacity", config.maxTokensPerRank())
        .put("switch", config.switches().interval() + "+" + config.switches().delay())
        .put("redundant", config.redundantSlots())
        .build();
  }

  public int rank() {
    return mesh.rank();
  }

  public int worldSize() {
    return mesh.worldSize();
  }

  public RankMesh mesh() {
    return mesh;
  }

  public PipelineConfig config() {
    return config;
  }

  /** Hidden-vector bytes this rank sent to peers in dispatch and combine, since start. */
  public long hiddenBytesSent() {
    return moeStep.hiddenBytesSent();
  }

  /** The step runner: comm mode, sync counters. */
  public StepRunner step() {
    return moeStep;
  }

  public Placement placement() {
    return placement;
  }

  /**
   * Runs every batch through the MoE layers. Only one stream runs on a rank at a time; step ids
   * continue across streams.
   */
  public Flux<TokenBatch> forward(Publisher<TokenBatch> batches) {
    Objects.requireNonNull(batches, "batches");
    return Flux.defer(
        () -> {
          if (!running.compareAndSet(false, true)) {
            return Flux.error(
                new IllegalStateException("rank " + rank() + " is already running a stream"));
          }
          return Flux.from(batches)
              .concatMap(this::step, 0)
              .doFinally(signal -> running.set(false));
        });
  }

  private Mono<TokenBatch> step(TokenBatch batch) {
    Optional<Refusal> refusal = refusal(batch);
    if (refusal.isEmpty()) {
      lastStep = batch.step();
    }
    if (!config.switches().isSwitchStep(batch.step())) {
      return moeStep.run(batch, refusal, placement, experts, routers);
    }
    PlacementSource source = placementSource;
    PreparedPlacement prepared = source.preparedFor(batch.step());
    return gate.decide(batch.step(), prepared)
        .flatMap(
            decision -> {
              if (decision.apply()) {
                placement = prepared.placement();
                experts = prepared.localExperts();
              }
              source.switched(batch.step(), decision.apply() ? prepared : null, decision.why());
              return moeStep.run(batch, refusal, placement, experts, routers);
            });
  }

  /**
   * Where new placements come from; set it before {@link #forward}. At every switch step of {@link
   * PipelineConfig#switches()} the ranks agree whether to apply what it prepared.
   */
  public void placementSource(PlacementSource source) {
    this.placementSource = Objects.requireNonNull(source, "source");
  }

  /** This rank's expert for a local slot under the placement in force. */
  public ExpertFfn localExpert(int layer, int localSlot) {
    return experts[layer][localSlot];
  }

  /** The bank this rank loads initial experts from. */
  public ExpertBank bank() {
    return bank;
  }

  private Optional<Refusal> refusal(TokenBatch batch) {
    String where = "rank " + rank() + ", step " + batch.step() + ": ";
    if (batch.hidden() != config.model().hidden()) {
      return Optional.of(
          new Refusal(
              where
                  + "hidden size "
                  + batch.hidden()
                  + " does not match the model's "
                  + config.model().hidden()));
    }
    if (lastStep >= 0 && batch.step() != lastStep + 1) {
      return Optional.of(
          new Refusal(
              where + "expected step " + (lastStep + 1) + ": every rank runs every step in order"));
    }
    return Optional.empty();
  }

  private ExpertFfn[][] localExperts(Placement p) {
    int slotsPerRank = p.slotsPerRank();
    ExpertFfn[][] local = new ExpertFfn[p.layers()][slotsPerRank];
    for (int l = 0; l < p.layers(); l++) {
      for (int i = 0; i < slotsPerRank; i++) {
        local[l][i] = bank.expert(l, p.logicalOf(l, rank() * slotsPerRank + i));
      }
    }
    return local;
  }

  /**
   * Waits until every rank has reached this point (so that frames still queued reach their peers),
   * then leaves the mesh. Every rank of the group must call it.
   */
  public Mono<Void> close() {
    return Collectives.barrier(mesh, Long.MAX_VALUE).then(mesh.leave());
  }

  @Override
  public void dispose() {
    mesh.dispose();
  }

  @Override
  public boolean isDisposed() {
    return mesh.isDisposed();
  }
}
