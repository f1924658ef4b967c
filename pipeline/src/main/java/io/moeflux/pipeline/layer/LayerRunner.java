package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.HeatTap;
import io.moeflux.pipeline.Overlap;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.PipelineException;
import io.moeflux.pipeline.StepMemory;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertWorkers;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.SharedExpert;
import io.moeflux.pipeline.model.TokenRouter;
import io.moeflux.pipeline.toggle.StepToggle;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.StepAbortedException;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.WireFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Runs one rank's batch through the MoE layers of a step: every layer with the residual for the
 * synthetic model, the one layer {@link MoeModel#layerOfStep} names without residual for a
 * checkpoint model. Per layer: route every token, split the batch into micro-batches ({@link
 * Overlap}: one, or two so that one's experts run while the other's frames travel), and send each
 * micro-batch's tokens (the {@link ExchangeStrategy} of the step's comm mode); run the shared
 * expert on this rank's own tokens while the frames travel; then, per micro-batch as its frames
 * arrive, run the experts and send every source its partial sums ({@link MicroBatch#experts}), and
 * sum the partial sums that come home ({@link MicroBatch#combine}). The arithmetic is {@link
 * io.moeflux.pipeline.model.RowMath}'s order in every mode and split, so every run gives the
 * single-process path's bits.
 *
 * <p>All working memory is allocated for the capacity at construction and reused; only a padded
 * step beyond it grows the buffers. A rank runs one step at a time and a step one layer at a time;
 * within a layer each micro-batch has its own memory, and the stages of two micro-batches may run
 * at once on two threads.
 */
final class LayerRunner {
  private final RankMesh mesh;
  private final MoeModel model;
  private final HeatTap heatTap;
  private final StepToggle heatSteps;
  private final Scheduler expertScheduler;
  private final boolean combineOffIoThreads;
  private final ExpertWorkers workers;
  private final Overlap overlap;
  private final WireFormat wire;
  private final int rank;
  private final int hidden;

  private final LocalBatch batch;
  private final MicroBatch[] micro = new MicroBatch[StepMemory.microBatches()];
  private float[] routeScratch = new float[0];
  private int[] heatSum = new int[0];

  private final LongAdder hiddenRowsSent = new LongAdder();
  private final LongAdder hiddenBytesSent = new LongAdder();

  LayerRunner(
      RankMesh mesh,
      PipelineConfig config,
      Placement placement,
      HeatTap heatTap,
      ExpertWorkers workers) {
    this.mesh = mesh;
    this.model = config.model();
    this.heatTap = heatTap;
    this.heatSteps = config.heatSteps();
    this.expertScheduler = config.expertScheduler();
    this.combineOffIoThreads = config.heavySteps() && expertScheduler != Schedulers.immediate();
    this.workers = workers;
    this.overlap = config.overlap();
    this.wire = config.wire();
    this.rank = mesh.rank();
    int ranks = mesh.worldSize();
    this.hidden = model.hidden();
    int topK = model.topK();
    int capacity = config.maxTokensPerRank();
    this.batch =
        new LocalBatch(
            rank, ranks, topK, hidden, capacity, placement, model.runsEveryLayerPerStep());
    for (int i = 0; i < micro.length; i++) {
      micro[i] = new MicroBatch(i, rank, ranks, topK, hidden, capacity, wire, workers);
      micro[i].reserve(capacity);
    }
  }

  /**
   * Hidden-vector bytes this rank has put on the wire in exchange and combine frames (the payload a
   * benchmark counts: rows and their fp8 scales; headers and top-k picks excluded).
   */
  long hiddenBytesSent() {
    return hiddenBytesSent.sum();
  }

  /** Hidden rows this rank has put on the wire in exchange and combine frames. */
  long hiddenRowsSent() {
    return hiddenRowsSent.sum();
  }

  /**
   * Runs {@code in} through the step's layers with {@code exchange}. {@code
   * experts[layer][localSlot]} are this rank's experts under {@code placement}; {@code
   * routers[layer]} the gates, {@code shared[layer]} the shared experts (null entries for none).
   */
  Mono<TokenBatch> run(
      TokenBatch in,
      ExchangeStrategy exchange,
      Placement placement,
      ExpertFfn[][] experts,
      TokenRouter[] routers,
      @Nullable SharedExpert[] shared) {
    return Mono.defer(
        () -> {
          int tokensPerRank = exchange.tokensPerRank();
          batch.begin(in, placement, tokensPerRank);
          for (MicroBatch m : micro) {
            m.reserve(tokensPerRank);
          }
          int microBatches =
              exchange.splits() ? overlap.microBatches(in.step(), model.expertKind()) : 1;
          if (!model.runsEveryLayerPerStep()) {
            int layer = MoeModel.layerOfStep(in.step(), routers.length);
            return layer(
                    layer, exchange, experts[layer], routers[layer], shared[layer], microBatches)
                .then(Mono.fromSupplier(this::output));
          }
          Mono<Void> layers = Mono.empty();
          for (int l = 0; l < routers.length; l++) {
            int layer = l;
            layers =
                layers.then(
                    Mono.defer(
                        () ->
                            layer(
                                layer,
                                exchange,
                                experts[layer],
                                routers[layer],
                                null,
                                microBatches)));
          }
          return layers.then(Mono.fromSupplier(this::output));
        });
  }

  private TokenBatch output() {
    heatTap.onStepEnd(batch.step);
    int tokens = batch.tokens;
    int topK = batch.topK;
    return new TokenBatch(
        batch.step,
        tokens,
        hidden,
        Arrays.copyOf(batch.residual ? batch.state : batch.output, tokens * hidden),
        batch.prefill,
        Arrays.copyOf(batch.ids, tokens * topK),
        Arrays.copyOf(batch.weights, tokens * topK),
        batch.residual ? TokenBatch.ANY_LAYER : batch.layerId);
  }

  private Mono<Void> layer(
      int layer,
      ExchangeStrategy exchange,
      ExpertFfn[] experts,
      TokenRouter router,
      @Nullable SharedExpert shared,
      int microBatches) {
    batch.layer = layer;
    batch.layerId = model.layerId(layer);
    if (routeScratch.length < router.scratchLength()) {
      routeScratch = new float[router.scratchLength()];
    }
    int first = 0;
    try {
      for (int i = 0; i < microBatches; i++) {
        // each micro-batch is routed and sent before the next is routed: its frames travel
        // while this rank routes the next
        int tokens = (batch.tokens - first + microBatches - i - 1) / (microBatches - i);
        router.route(batch.state, first, tokens, batch.ids, batch.weights, routeScratch);
        micro[i].plan.build(batch.placement, batch.step, layer, rank, batch.ids, first, tokens);
        countSent(exchange.send(batch, micro[i]), wire.dispatch().rowBytes(hidden));
        first += tokens;
      }
    } catch (OutOfDirectMemory e) {
      return giveUp(e);
    }
    if (shared != null) {
      // this rank's own tokens, while its frames and its peers' travel
      runShared(shared);
    }
    AtomicInteger running = new AtomicInteger(microBatches);
    List<Mono<Void>> stages = new ArrayList<>(microBatches);
    for (int i = 0; i < microBatches; i++) {
      stages.add(microBatch(micro[i], exchange, experts, shared != null, running, microBatches));
    }
    return Mono.when(stages).onErrorMap(StepAbortedException.class, this::refusedByPeer);
  }

  /** Stages 2 and 3 of {@code m}: its experts once its frames are in, its combine after. */
  private Mono<Void> microBatch(
      MicroBatch m,
      ExchangeStrategy exchange,
      ExpertFfn[] experts,
      boolean sharedRan,
      AtomicInteger running,
      int microBatches) {
    long step = batch.step;
    int layerId = batch.layerId;
    Mono<PeerFrames> exchanged = mesh.receive(exchange.kind(), step, layerId, m.index);
    if (expertScheduler != Schedulers.immediate()) {
      exchanged = exchanged.publishOn(expertScheduler);
    }
    return exchanged
        .doOnNext(
            frames -> {
              try {
                countSent(
                    m.experts(batch, exchange, frames, experts, mesh),
                    wire.combine().rowBytes(hidden));
              } finally {
                frames.release();
              }
              if (running.decrementAndGet() == 0) {
                reportHeat(microBatches);
              }
            })
        .then(combined(step, layerId, m.index))
        .doOnNext(
            frames -> {
              try {
                m.combine(batch, exchange, frames, sharedRan);
              } finally {
                frames.release();
              }
            })
        .doOnDiscard(PeerFrames.class, PeerFrames::release)
        .onErrorResume(OutOfDirectMemory.class, this::giveUp)
        .then();
  }

  /** {@code micro}'s combine frames, handed to the expert scheduler in heavy steps. */
  private Mono<PeerFrames> combined(long step, int layerId, int micro) {
    Mono<PeerFrames> frames = mesh.receive(FrameKind.COMBINE, step, layerId, micro);
    return combineOffIoThreads ? frames.publishOn(expertScheduler) : frames;
  }

  private void countSent(long rows, long rowBytes) {
    hiddenRowsSent.add(rows);
    hiddenBytesSent.add(rows * rowBytes);
  }

  /**
   * The heat of the layer: rows per local slot over every micro-batch, handed to the tap at the
   * steps {@link PipelineConfig#heatSteps()} names. The tap owns what it keeps (HeatTap's
   * contract): the counts are lent, and reused next layer.
   */
  private void reportHeat(int microBatches) {
    if (heatTap == HeatTap.NONE || !heatSteps.isOn(batch.step)) {
      return;
    }
    int[] first = micro[0].heat();
    if (microBatches == 1) {
      // one micro-batch: its counts are the layer's, lent to the tap as the sum would be
      heatTap.onDispatch(batch.step, batch.layer, batch.prefill, first);
      return;
    }
    if (heatSum.length != first.length) {
      heatSum = new int[first.length];
    }
    System.arraycopy(first, 0, heatSum, 0, first.length);
    for (int i = 1; i < microBatches; i++) {
      int[] more = micro[i].heat();
      for (int slot = 0; slot < heatSum.length; slot++) {
        heatSum[slot] += more[slot];
      }
    }
    heatTap.onDispatch(batch.step, batch.layer, batch.prefill, heatSum);
  }

  /** This rank ran out of direct memory: the step fails on every rank, with the reason. */
  private <T> Mono<T> giveUp(OutOfDirectMemory error) {
    mesh.abort(batch.step, error.getMessage());
    return Mono.error(error);
  }

  /** A step a peer gave up ({@code RankMesh.abort}) fails here with that peer's reason. */
  private PipelineException refusedByPeer(StepAbortedException aborted) {
    return new PipelineException(
        "rank "
            + rank
            + ": step "
            + aborted.step()
            + " refused by rank "
            + aborted.peer()
            + ": "
            + aborted.reason(),
        aborted);
  }

  /** The shared expert over this rank's own tokens, into {@link LocalBatch#shared}. */
  private void runShared(SharedExpert shared) {
    synchronized (workers) {
      shared.forward(batch.state, batch.tokens, batch.shared, workers);
    }
  }
}
