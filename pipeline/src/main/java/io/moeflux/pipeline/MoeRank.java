package io.moeflux.pipeline;

import io.moeflux.pipeline.layer.Refusal;
import io.moeflux.pipeline.layer.StepRunner;
import io.moeflux.pipeline.model.ExpertWorkers;
import io.moeflux.pipeline.model.MemoryReport;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.SharedExpert;
import io.moeflux.pipeline.model.TokenRouter;
import io.moeflux.pipeline.placement.PlacementGate;
import io.moeflux.pipeline.placement.PlacementHistory;
import io.moeflux.pipeline.placement.PlacementSource;
import io.moeflux.pipeline.placement.PreparedPlacement;
import io.moeflux.pipeline.sync.DpMetadataSync;
import io.moeflux.pipeline.sync.SyncDecision;
import io.moeflux.transport.Collectives;
import io.moeflux.transport.DirectMemory;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.RankMesh;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * One rank of an expert-parallel MoE group: push a {@code Flux<TokenBatch>} through {@link
 * #forward} and get the MoE layers' outputs back, one batch per step, in step order; {@link
 * #status()} says what it did so far.
 *
 * <p>Every rank must run every step, in step-id order, with consecutive step ids; a rank with no
 * tokens sends {@link TokenBatch#empty}. With a checkpoint model a step runs one MoE layer, the one
 * {@link MoeModel#layerOfStep} names ({@code step mod L}, a model's forward order); a batch may
 * name it ({@link TokenBatch#atLayer}), and one that names another is refused. A batch this rank
 * cannot run (wrong hidden size, a layer other than the step's, or, on a rank that skips the DP
 * metadata sync, over {@link PipelineConfig#maxTokensPerRank()} or a prefill batch) fails the step
 * with an error on this rank, and every peer fails the same step instead of waiting for it.
 */
public final class MoeRank implements Disposable {
  private final RankState state;
  private final TokenRouter[] routers;
  private final @Nullable SharedExpert[] shared;
  private final StepRunner moeStep;
  private final ExpertWorkers workers;
  private final PlacementGate gate;
  private final PlacementSource placementSource;
  private final AtomicBoolean running = new AtomicBoolean();
  private long lastStep = -1;

  private MoeRank(
      RankState state,
      SyncDecision decision,
      HeatTap heatTap,
      PlacementSource placementSource,
      int ranksInJvm) {
    this.state = state;
    this.placementSource = placementSource;
    MoeModel model = state.config().model();
    this.routers = new TokenRouter[model.layers()];
    this.shared = new SharedExpert[model.layers()];
    for (int l = 0; l < routers.length; l++) {
      routers[l] = model.router(l);
      shared[l] = model.sharedExpert(l);
    }
    this.gate = new PlacementGate(state.mesh());
    this.workers =
        ExpertWorkers.start(
            "moeflux-experts-r" + state.rank(), state.config().expertThreads(ranksInJvm));
    try {
      this.moeStep =
          new StepRunner(
              state.mesh(), state.config(), decision, state.placement(), heatTap, workers);
    } catch (RuntimeException | Error e) {
      workers.close();
      throw e;
    }
  }

  /** Starts a rank with no extensions. */
  public static Mono<MoeRank> start(MeshConfig meshConfig, PipelineConfig config) {
    return start(meshConfig, config, RankExtensions.none());
  }

  /**
   * Starts a rank: checks that its frames fit the JVM's direct-memory limit ({@link StepMemory}),
   * joins the mesh (the handshake compares {@link #fingerprint(PipelineConfig)}), checks that every
   * rank made the same decision on the DP metadata sync, loads this rank's routers, shared experts
   * and the routed experts its initial placement holds (on a bounded-elastic thread: a checkpoint
   * is read from disk), and makes its heat tap and placement source from {@code extensions}. A rank
   * that fails there (an impossible placement, an unreadable checkpoint, a factory that throws)
   * leaves the mesh, and the start fails with that error.
   */
  public static Mono<MoeRank> start(
      MeshConfig meshConfig, PipelineConfig config, RankExtensions extensions) {
    return start(meshConfig, config, extensions, 1);
  }

  /**
   * {@link #start(MeshConfig, PipelineConfig, RankExtensions)} for one of {@code ranksInJvm} ranks
   * this JVM runs, which share its cores ({@link PipelineConfig#expertThreads(int)}).
   */
  static Mono<MoeRank> start(
      MeshConfig meshConfig, PipelineConfig config, RankExtensions extensions, int ranksInJvm) {
    Objects.requireNonNull(meshConfig, "meshConfig");
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(extensions, "extensions");
    try {
      config.initialPlacement(meshConfig.worldSize());
      StepMemory.checkFits(config, meshConfig.worldSize(), 1, DirectMemory.limit());
    } catch (IllegalArgumentException | PipelineException e) {
      return Mono.error(e);
    }
    SyncDecision decision = SyncDecision.decide(config.sync(), config.maxTokensPerRank());
    // a peer may make this rank hold what a few steps of this configuration need, no more
    MeshConfig withBounds =
        meshConfig.toBuilder()
            .fingerprint(fingerprint(config))
            .limits(StepMemory.limits(config, meshConfig.limits().stepWindow()))
            .wire(config.wire())
            .build();
    return RankMesh.start(withBounds)
        .flatMap(
            mesh ->
                DpMetadataSync.agree(mesh, decision)
                    .then(
                        Mono.fromCallable(
                                () -> {
                                  RankState state = new RankState(mesh, config);
                                  HeatTap heatTap = extensions.heatTapFor(state);
                                  PlacementSource source = extensions.placementSourceFor(state);
                                  return new MoeRank(state, decision, heatTap, source, ranksInJvm);
                                })
                            .subscribeOn(Schedulers.boundedElastic()))
                    .onErrorResume(error -> mesh.leave().then(Mono.error(error))));
  }

  /**
   * What ranks compare at handshake, one entry each: the model's entries ({@link
   * MoeModel#fingerprint()}: the synthetic model's hash, or a checkpoint's family, digest and
   * kernel), the capacity, the placement switch schedule, the redundant slots, the run-time toggles
   * for the sync skip and the heat tap (every rank must switch at the same steps), the rule that
   * picks a replica ({@link Placement#REPLICA_RULE}), the wire precision of each phase and the
   * micro-batch overlap. A mismatch is refused naming the entries.
   */
  public static MeshFingerprint fingerprint(PipelineConfig config) {
    MeshFingerprint.Builder entries = MeshFingerprint.builder();
    config.model().fingerprint().forEach(entries::put);
    return entries
        .put("capacity", config.maxTokensPerRank())
        .put("switch", config.switches().interval() + "+" + config.switches().delay())
        .put("redundant", config.redundantSlots())
        .put("skip-steps", config.sync().skipSteps().toString())
        .put("heat-steps", config.heatSteps().toString())
        .put("replica_rule", Placement.REPLICA_RULE)
        .put("wire", config.wire().dispatch() + "/" + config.wire().combine())
        .put("overlap", config.overlap().label())
        .build();
  }

  public int rank() {
    return state.rank();
  }

  public PipelineConfig config() {
    return state.config();
  }

  /** What this rank did since it started, the placement in force now and the memory it holds. */
  public RankStatus status() {
    PreparedPlacement inForce = state.inForce();
    return new RankStatus(
        state.rank(),
        state.worldSize(),
        moeStep.decision(),
        moeStep.lastMode(),
        moeStep.syncedSteps(),
        moeStep.skippedSteps(),
        moeStep.paddedSteps(),
        moeStep.hiddenBytesSent(),
        moeStep.hiddenRowsSent(),
        inForce.placement(),
        state.config().model(),
        MemoryReport.of(state.config().model(), inForce.placement(), state.rank()));
  }

  /**
   * The version of the placement in force now (what {@link #status()} reports, without the rest).
   */
  public long placementVersion() {
    return state.inForce().placement().version();
  }

  /**
   * The placements this rank has had in force: the initial one, then one entry per switch it
   * applied. Every rank of a group must report the same history; compare them to check.
   */
  public PlacementHistory placementHistory() {
    return state.history();
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
    if (!config().switches().isSwitchStep(batch.step())) {
      return run(batch, refusal);
    }
    PreparedPlacement prepared = placementSource.preparedFor(batch.step());
    return gate.decide(batch.step(), prepared)
        .flatMap(
            decision -> {
              PreparedPlacement applied = decision.apply() ? prepared : null;
              if (applied != null) {
                state.switchTo(batch.step(), applied);
              }
              placementSource.switched(batch.step(), applied, decision.why());
              return run(batch, refusal);
            });
  }

  private Mono<TokenBatch> run(TokenBatch batch, Optional<Refusal> refusal) {
    PreparedPlacement inForce = state.inForce();
    return moeStep.run(
        batch, refusal, inForce.placement(), inForce.localExperts(), routers, shared);
  }

  private Optional<Refusal> refusal(TokenBatch batch) {
    String where = "rank " + rank() + ", step " + batch.step() + ": ";
    int hidden = config().model().hidden();
    if (batch.hidden() != hidden) {
      return Optional.of(
          new Refusal(
              where + "hidden size " + batch.hidden() + " does not match the model's " + hidden));
    }
    if (lastStep >= 0 && batch.step() != lastStep + 1) {
      return Optional.of(
          new Refusal(
              where + "expected step " + (lastStep + 1) + ": every rank runs every step in order"));
    }
    return refusedLayer(batch, where);
  }

  /** A batch that names a layer its step does not run. */
  private Optional<Refusal> refusedLayer(TokenBatch batch, String where) {
    MoeModel model = config().model();
    if (batch.layer() == TokenBatch.ANY_LAYER) {
      return Optional.empty();
    }
    if (model.runsEveryLayerPerStep()) {
      return Optional.of(
          new Refusal(
              where
                  + "the batch names layer "
                  + batch.layer()
                  + ", but the "
                  + model.describe()
                  + " runs every layer in every step"));
    }
    int layer = MoeModel.layerOfStep(batch.step(), model.layers());
    if (batch.layer() != model.layerId(layer)) {
      return Optional.of(
          new Refusal(
              where
                  + "the batch names layer "
                  + batch.layer()
                  + ", but step "
                  + batch.step()
                  + " runs MoE layer "
                  + model.layerId(layer)
                  + " (step mod "
                  + model.layers()
                  + " MoE layers = "
                  + layer
                  + ")"));
    }
    return Optional.empty();
  }

  /**
   * The steps peers opened ({@link RankMesh#stepsOpened()}), for a caller that steps on demand: it
   * runs a step when it has work, and when a peer opened a step it has not run yet it joins that
   * step at once with what it has ({@link TokenBatch#empty} when nothing). Step ids stay
   * consecutive on every rank, so a step opened here is at most one past the last step this rank
   * ran.
   */
  public Flux<Long> stepsOpenedByPeers() {
    return state.mesh().stepsOpened();
  }

  /**
   * Completes when this rank's mesh closes: empty after {@link #close()} or {@link #dispose()},
   * with the error (naming a lost peer, a protocol error) when the mesh failed, whether or not a
   * step was running.
   */
  public Mono<Void> onClose() {
    return state.mesh().onClose();
  }

  /**
   * Waits until every rank has reached this point (so that frames still queued reach their peers),
   * then leaves the mesh. Every rank of the group must call it.
   */
  public Mono<Void> close() {
    RankMesh mesh = state.mesh();
    return Collectives.barrier(mesh, Long.MAX_VALUE)
        .then(mesh.leave())
        .doFinally(signal -> workers.close());
  }

  @Override
  public void dispose() {
    workers.close();
    state.mesh().dispose();
  }

  @Override
  public boolean isDisposed() {
    return state.mesh().isDisposed();
  }
}
