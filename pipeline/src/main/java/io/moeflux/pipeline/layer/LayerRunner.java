package io.moeflux.pipeline.layer;

import io.moeflux.pipeline.HeatTap;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.PipelineException;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertWorkers;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.RowMath;
import io.moeflux.pipeline.model.SharedExpert;
import io.moeflux.pipeline.model.TokenRouter;
import io.moeflux.pipeline.toggle.StepToggle;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.StepAbortedException;
import io.moeflux.transport.protocol.CombineFrameCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.netty.buffer.ByteBuf;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Runs one rank's batch through the MoE layers of a step: every layer with the residual for the
 * synthetic model, the one layer {@link MoeModel#layerOfStep} names without residual for a
 * checkpoint model. Per layer: route, exchange the tokens (the {@link ExchangeStrategy} of the
 * step's comm mode), group the received rows per local slot, hand the counts to the heat tap, run
 * the experts, send each source one gate-weighted partial sum per token in a COMBINE frame, run the
 * shared expert on this rank's own tokens, and sum the partial sums that come home in ascending
 * rank order: added to the hidden states (residual), or as the output plus the shared expert's. The
 * arithmetic is {@link RowMath}'s order in every mode, so every mode gives the single-process
 * path's bits.
 *
 * <p>All working memory is allocated for the capacity at construction and reused; only a padded
 * step beyond it grows the buffers. A step runs one layer at a time and a rank runs one step at a
 * time, so the buffers are never shared between two phases in flight.
 */
final class LayerRunner {
  private final RankMesh mesh;
  private final MoeModel model;
  private final HeatTap heatTap;
  private final StepToggle heatSteps;
  private final Scheduler expertScheduler;
  private final ExpertWorkers workers;
  private final int rank;
  private final int ranks;
  private final int hidden;
  private final int topK;

  private final LocalBatch batch;
  private final ReceivedPicks picks;
  private final ExpertRows expertRows;
  private float[] routeScratch = new float[0];
  private final float[] row;
  private final float[] acc;

  /** Per received pick: its row in {@link #expertRows}, or -1 when it runs elsewhere. */
  private int[] rowOf = new int[0];

  /** Partial sums for a peer's tokens (sent at once) and for this rank's own (kept). */
  private float[] partialOut = new float[0];

  private float[] partialOwn = new float[0];

  /** Per-layer views of the COMBINE frames, one per peer; reused, cleared after every layer. */
  private final @Nullable FloatBuffer[] combineViews;

  private volatile long hiddenBytesSent;

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
    this.workers = workers;
    this.rank = mesh.rank();
    this.ranks = mesh.worldSize();
    this.hidden = config.model().hidden();
    this.topK = config.model().topK();
    int capacity = config.maxTokensPerRank();
    this.batch =
        new LocalBatch(
            rank, ranks, topK, hidden, capacity, placement, model.runsEveryLayerPerStep());
    this.picks = new ReceivedPicks(ranks, topK, hidden, 0);
    this.expertRows = new ExpertRows(hidden, 0, 0);
    this.row = new float[hidden];
    this.acc = new float[hidden];
    this.combineViews = new FloatBuffer[ranks];
    reserve(capacity, placement.slotsPerRank());
  }

  /**
   * Hidden-vector bytes this rank has put on the wire in exchange and combine frames (the payload a
   * benchmark counts; headers and top-k picks excluded).
   */
  long hiddenBytesSent() {
    return hiddenBytesSent;
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
          reserve(tokensPerRank, placement.slotsPerRank());
          batch.begin(in, placement, tokensPerRank);
          if (!model.runsEveryLayerPerStep()) {
            int layer = MoeModel.layerOfStep(in.step(), routers.length);
            return layer(layer, exchange, experts[layer], routers[layer], shared[layer])
                .then(Mono.fromSupplier(this::output));
          }
          Mono<Void> layers = Mono.empty();
          for (int l = 0; l < routers.length; l++) {
            int layer = l;
            layers =
                layers.then(
                    Mono.defer(() -> layer(layer, exchange, experts[layer], routers[layer], null)));
          }
          return layers.then(Mono.fromSupplier(this::output));
        });
  }

  /** Room for {@code tokensPerRank} tokens from every rank (grows, never shrinks). */
  private void reserve(int tokensPerRank, int slotsPerRank) {
    int received = ranks * tokensPerRank;
    picks.reserve(received);
    if (rowOf.length < received * topK) {
      rowOf = new int[received * topK];
    }
    expertRows.reserve(received * Math.min(slotsPerRank, topK), slotsPerRank);
    if (partialOut.length < tokensPerRank * hidden) {
      partialOut = new float[tokensPerRank * hidden];
      partialOwn = new float[tokensPerRank * hidden];
    }
  }

  private TokenBatch output() {
    heatTap.onStepEnd(batch.step);
    int tokens = batch.tokens;
    return new TokenBatch(
        batch.step,
        tokens,
        hidden,
        Arrays.copyOf(batch.residual ? batch.state : batch.output, tokens * hidden),
        batch.prefill,
        Arrays.copyOf(batch.plan.ids, tokens * topK),
        Arrays.copyOf(batch.plan.weights, tokens * topK),
        batch.residual ? TokenBatch.ANY_LAYER : batch.layerId);
  }

  private Mono<Void> layer(
      int layer,
      ExchangeStrategy exchange,
      ExpertFfn[] experts,
      TokenRouter router,
      @Nullable SharedExpert shared) {
    batch.layer = layer;
    batch.layerId = model.layerId(layer);
    DispatchPlan plan = batch.plan;
    if (routeScratch.length < router.scratchLength()) {
      routeScratch = new float[router.scratchLength()];
    }
    router.route(batch.state, batch.tokens, plan.ids, plan.weights, routeScratch);
    plan.build(batch.placement, batch.step, layer, rank, batch.tokens);
    hiddenBytesSent += exchange.send(batch);
    Mono<PeerFrames> exchanged = mesh.receive(exchange.kind(), batch.step, batch.layerId);
    if (expertScheduler != Schedulers.immediate()) {
      exchanged = exchanged.publishOn(expertScheduler);
    }
    return exchanged
        .flatMap(
            frames -> {
              try {
                receive(exchange, frames);
                runExperts(experts);
              } finally {
                picks.dropRows();
                frames.release();
              }
              if (shared != null) {
                runShared(shared);
              }
              return mesh.receive(FrameKind.COMBINE, batch.step, batch.layerId);
            })
        .doOnNext(
            frames -> {
              try {
                combine(exchange, frames, shared != null);
              } finally {
                Arrays.fill(combineViews, null);
                frames.release();
              }
            })
        .doOnDiscard(PeerFrames.class, PeerFrames::release)
        .onErrorMap(StepAbortedException.class, this::refusedByPeer)
        .then();
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

  /**
   * Fills {@link #picks} from every source in ascending rank order, this rank's own tokens
   * included; the exchange says where each pick runs, with which weight, and where its row lies.
   */
  private void receive(ExchangeStrategy exchange, PeerFrames frames) {
    exchange.check(frames, batch);
    for (int s = 0; s < ranks; s++) {
      if (s == rank) {
        picks.addOwn(batch, exchange.gathersEveryToken());
        continue;
      }
      ByteBuf frame = frames.frame(s);
      int count = frames.count(s);
      int first = picks.addSource(s, count, exchange.rows(frame, count, batch));
      for (int i = 0; i < count; i++) {
        for (int k = 0; k < topK; k++) {
          picks.setPick(
              first + i,
              k,
              exchange.slot(frame, s, i, k, batch),
              exchange.weight(frame, count, i, k, batch));
        }
      }
    }
  }

  /**
   * Groups the received rows per local slot, runs the experts, and sends every source its partial
   * sums: per token, the gate-weighted expert outputs over its picks, k ascending.
   */
  private void runExperts(ExpertFfn[] experts) {
    int[] slot = picks.slot;
    int received = picks.tokens();
    expertRows.clear();
    for (int p = 0; p < received * topK; p++) {
      if (slot[p] >= 0) {
        expertRows.count(slot[p]);
      }
    }
    expertRows.layout();
    if (heatTap != HeatTap.NONE && heatSteps.isOn(batch.step)) {
      // The tap owns what it keeps (HeatTap's contract): the counts are lent, and reused next
      // layer.
      heatTap.onDispatch(batch.step, batch.layer, batch.prefill, expertRows.counts());
    }

    float[] expertIn = expertRows.input();
    for (int s = 0; s < ranks; s++) {
      for (int g = picks.base[s]; g < picks.base[s + 1]; g++) {
        for (int k = 0; k < topK; k++) {
          int p = g * topK + k;
          if (slot[p] < 0) {
            rowOf[p] = -1;
            continue;
          }
          int r = expertRows.place(slot[p]);
          rowOf[p] = r;
          picks.copyRow(s, g, expertIn, r * hidden);
        }
      }
    }

    expertRows.run(experts, workers);
    float[] expertOut = expertRows.output();
    float[] weight = picks.weight;
    for (int s = 0; s < ranks; s++) {
      int count = picks.count[s];
      float[] partials = s == rank ? partialOwn : partialOut;
      for (int i = 0; i < count; i++) {
        int g = picks.base[s] + i;
        int off = i * hidden;
        Arrays.fill(partials, off, off + hidden, 0f);
        for (int k = 0; k < topK; k++) {
          int p = g * topK + k;
          if (rowOf[p] >= 0) {
            RowMath.accumulateWeighted(
                partials, off, weight[p], expertOut, rowOf[p] * hidden, hidden);
          }
        }
      }
      if (s != rank) {
        mesh.send(
            s,
            CombineFrameCodec.encode(
                mesh.allocator(), batch.step, batch.layerId, rank, partials, count, hidden));
        hiddenBytesSent += (long) count * hidden * Float.BYTES;
      }
    }
  }

  /**
   * The shared expert over this rank's own tokens, into {@link LocalBatch#shared}: after the
   * partial sums went out, so peers combine while it runs.
   */
  private void runShared(SharedExpert shared) {
    shared.forward(batch.state, batch.tokens, batch.shared, workers);
  }

  /**
   * Sums, per token and in ascending rank order, the partial sums that came home; adds the sum to
   * the hidden states (residual), or makes it the output and adds the shared expert's.
   */
  private void combine(ExchangeStrategy exchange, PeerFrames frames, boolean sharedRan) {
    DispatchPlan plan = batch.plan;
    for (int r = 0; r < ranks; r++) {
      if (r == rank) {
        continue;
      }
      int count = CombineFrameCodec.checkBody(frames.frame(r), hidden);
      int expected = exchange.combineCount(plan, r);
      if (count != expected) {
        throw new PipelineException(
            "rank "
                + rank
                + ": rank "
                + r
                + " combined "
                + count
                + " tokens at step "
                + batch.step
                + " but was sent "
                + expected);
      }
      combineViews[r] = CombineFrameCodec.partials(frames.frame(r), count, hidden);
    }
    float[] state = batch.state;
    for (int t = 0; t < batch.tokens; t++) {
      Arrays.fill(acc, 0f);
      for (int r = 0; r < ranks; r++) {
        int pos = exchange.combinePosition(plan, t, r);
        if (pos < 0) {
          continue;
        }
        if (r == rank) {
          RowMath.addInto(acc, 0, partialOwn, pos * hidden, hidden);
        } else {
          Objects.requireNonNull(combineViews[r]).get(pos * hidden, row, 0, hidden);
          RowMath.addInto(acc, 0, row, 0, hidden);
        }
      }
      if (batch.residual) {
        RowMath.addInto(state, t * hidden, acc, 0, hidden);
      } else {
        System.arraycopy(acc, 0, batch.output, t * hidden, hidden);
        if (sharedRan) {
          RowMath.addInto(batch.output, t * hidden, batch.shared, t * hidden, hidden);
        }
      }
    }
  }
}
