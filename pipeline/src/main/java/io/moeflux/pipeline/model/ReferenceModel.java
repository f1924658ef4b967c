package io.moeflux.pipeline.model;

import io.moeflux.pipeline.TokenBatch;
import io.moeflux.transport.protocol.RowCoder;
import io.moeflux.transport.protocol.WireFormat;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * The MoE layers in one process: the single-process path a distributed run must match bit for bit.
 * Per layer l, with h the current hidden states:
 *
 * <ol>
 *   <li>the layer's router gives each token t its experts {@code ids[t,k]} and weights {@code
 *       w[t,k]};
 *   <li>each choice goes to slot {@code placement.slotFor(l, ids[t,k], step, rank, t)} (the replica
 *       its share draw picks) on rank {@code rankOfSlot(slot)}, and {@code y_k = expert(l,
 *       ids[t,k])(x)}, where {@code x} is {@code h_t} on the token's own rank and {@code h_t}
 *       rounded to the dispatch precision ({@link RowCoder#roundTrip}) on any other: a row is
 *       rounded where it crosses a socket;
 *   <li>the combine of {@link RowMath}: per destination rank ascending a weighted partial sum over
 *       the choices on that rank in ascending slot order, rounded to the combine precision unless
 *       the rank is the token's own, and the partials summed in rank order into {@code acc_t}.
 * </ol>
 *
 * A synthetic model runs every layer and adds {@code acc_t} to {@code h_t} (the residual). A
 * checkpoint model runs the one layer of the step ({@link MoeModel#layerOfStep}) and outputs {@code
 * acc_t} plus the layer's shared expert ({@link SharedExpert#forward}), with no residual.
 *
 * <p>The rank matters only through the order of the sums: it picks the replicas, hence which
 * choices share a partial. It shares the model's routers and kernels with the distributed path, so
 * it checks the distribution, not the formulas. Thread-safe; each call allocates its own buffers;
 * experts are loaded once per instance, on first use.
 */
public final class ReferenceModel {
  private final MoeModel model;
  private final Placement placement;
  private final WireFormat wire;
  private final AtomicReferenceArray<@Nullable ExpertFfn> experts;

  /** The reference of a group whose hidden values travel as float32 ({@link WireFormat#F32}). */
  public ReferenceModel(MoeModel model, Placement placement) {
    this(model, placement, WireFormat.F32);
  }

  /** The reference of a group whose hidden values travel in {@code wire}. */
  public ReferenceModel(MoeModel model, Placement placement, WireFormat wire) {
    this.model = Objects.requireNonNull(model, "model");
    this.placement = Objects.requireNonNull(placement, "placement");
    this.wire = Objects.requireNonNull(wire, "wire");
    if (placement.layers() != model.layers() || placement.experts() != model.experts()) {
      throw new IllegalArgumentException(
          "placement has "
              + placement.layers()
              + " layers of "
              + placement.experts()
              + " experts, the model "
              + model.layers()
              + " of "
              + model.experts());
    }
    this.experts = new AtomicReferenceArray<>(Math.multiplyExact(model.layers(), model.experts()));
  }

  /** The synthetic model of {@code c} with {@code bank}'s experts, float32 on the wire. */
  public ReferenceModel(ModelConfig c, ExpertBank bank, Placement placement) {
    this(syntheticOf(c, bank), placement);
  }

  /** The synthetic model of {@code c} with {@code bank}'s experts, {@code wire} on the wire. */
  public ReferenceModel(ModelConfig c, ExpertBank bank, Placement placement, WireFormat wire) {
    this(syntheticOf(c, bank), placement, wire);
  }

  private static SyntheticModel syntheticOf(ModelConfig c, ExpertBank bank) {
    Objects.requireNonNull(c, "c");
    Objects.requireNonNull(bank, "bank");
    if (!bank.config().equals(c)) {
      throw new IllegalArgumentException(
          "bank was built for config " + bank.config().fingerprint() + ", not " + c.fingerprint());
    }
    return SyntheticModel.of(bank);
  }

  public MoeModel model() {
    return model;
  }

  public Placement placement() {
    return placement;
  }

  /** The wire precision whose rounding this reference applies. */
  public WireFormat wire() {
    return wire;
  }

  /** The router of {@code layer}, shared and immutable. */
  public TokenRouter router(int layer) {
    return model.router(layer);
  }

  private ExpertFfn expert(int layer, int logical) {
    int index = layer * model.experts() + logical;
    ExpertFfn ffn = experts.get(index);
    if (ffn != null) {
      return ffn;
    }
    ExpertFfn loaded = model.expert(layer, logical);
    return experts.compareAndSet(index, null, loaded) ? loaded : experts.get(index);
  }

  /**
   * The router's picks at one layer, as {@link #forward(int, TokenBatch, LayerPicks)} sees them.
   */
  @FunctionalInterface
  public interface LayerPicks {
    /**
     * @param ids logical expert ids, {@code tokens × topK}; valid during the call only
     * @param weights their gate weights, same layout; valid during the call only
     */
    void picked(int layer, int tokens, int[] ids, float[] weights);
  }

  /**
   * Runs {@code in} (this rank's tokens for one step) through the step's MoE layers.
   *
   * @return a output batch of the same step and stage: the output hidden states and the (last)
   *     layer's ids and weights
   * @throws IllegalArgumentException when the batch does not fit the model, or names a layer the
   *     step does not run
   */
  public TokenBatch forward(int rank, TokenBatch in) {
    return forward(rank, in, (layer, tokens, ids, weights) -> {});
  }

  /** {@link #forward(int, TokenBatch)}, telling {@code picks} what the router picked per layer. */
  public TokenBatch forward(int rank, TokenBatch in, LayerPicks picks) {
    Objects.requireNonNull(in, "in");
    Objects.requireNonNull(picks, "picks");
    Objects.checkIndex(rank, placement.ranks());
    if (in.hidden() != model.hidden()) {
      throw new IllegalArgumentException(
          "batch hidden size " + in.hidden() + " differs from the model's " + model.hidden());
    }
    int tokens = in.tokens();
    int h = model.hidden();
    int k = model.topK();
    int choices = tokens * k;
    int[] ids = new int[choices];
    float[] weights = new float[choices];
    Combine combine = new Combine(choices, picks);
    if (model.runsEveryLayerPerStep()) {
      if (in.layer() != TokenBatch.ANY_LAYER) {
        throw new IllegalArgumentException(
            "the " + model.describe() + " runs every layer per step; a batch cannot name one");
      }
      float[] state = in.data().clone();
      for (int l = 0; l < model.layers(); l++) {
        combine.layer(l, in.step(), rank, state, tokens, ids, weights);
        for (int t = 0; t < tokens; t++) {
          RowMath.addInto(state, t * h, combine.acc, t * h, h);
        }
      }
      return new TokenBatch(in.step(), tokens, h, state, in.prefill(), ids, weights);
    }
    int layer = layerOf(in);
    combine.layer(layer, in.step(), rank, in.data(), tokens, ids, weights);
    float[] out = combine.acc;
    SharedExpert shared = model.sharedExpert(layer);
    if (shared != null) {
      float[] y = new float[tokens * h];
      try (ExpertWorkers alone = ExpertWorkers.callerOnly()) {
        shared.forward(in.data(), tokens, y, alone);
      }
      RowMath.addInto(out, 0, y, 0, tokens * h);
    }
    return new TokenBatch(
        in.step(), tokens, h, out, in.prefill(), ids, weights, model.layerId(layer));
  }

  /** The MoE layer {@code in}'s step runs: the rule's, which a named layer must match. */
  private int layerOf(TokenBatch in) {
    int layer = MoeModel.layerOfStep(in.step(), model.layers());
    if (in.layer() != TokenBatch.ANY_LAYER && in.layer() != model.layerId(layer)) {
      throw new IllegalArgumentException(
          "step "
              + in.step()
              + " runs layer "
              + model.layerId(layer)
              + " (step mod "
              + model.layers()
              + " MoE layers), the batch names layer "
              + in.layer());
    }
    return layer;
  }

  /** One layer's routing, experts and rank-ordered combine into {@link #acc}, per token. */
  private final class Combine {
    private final int hidden = model.hidden();
    private final int topK = model.topK();
    private final float[] inputs;
    private final float[] rows;
    private final float[] crossed;
    private final int[] rowOfChoice;
    private final int[] start = new int[model.experts() + 1];
    private final int[] ranks = new int[model.topK()];
    private final int[] slots = new int[model.topK()];
    private final float[] partial = new float[model.hidden()];
    private final RowCoder dispatch = new RowCoder(wire.dispatch(), model.hidden());
    private final RowCoder combine = new RowCoder(wire.combine(), model.hidden());
    private float[] scratch = new float[0];
    private float[] routeScratch = new float[0];
    private final LayerPicks picks;

    /** {@code tokens x hidden}: each token's routed sum, written by {@link #layer}. */
    final float[] acc;

    Combine(int choices, LayerPicks picks) {
      this.picks = picks;
      this.inputs = new float[choices * hidden];
      this.rows = new float[choices * hidden];
      this.crossed = new float[choices / Math.max(1, topK) * hidden];
      this.rowOfChoice = new int[choices];
      this.acc = new float[choices / Math.max(1, topK) * hidden];
    }

    void layer(int l, long step, int rank, float[] state, int tokens, int[] ids, float[] weights) {
      TokenRouter router = model.router(l);
      if (routeScratch.length < router.scratchLength()) {
        routeScratch = new float[router.scratchLength()];
      }
      router.route(state, tokens, ids, weights, routeScratch);
      picks.picked(l, tokens, ids, weights);
      for (int t = 0; t < tokens; t++) {
        dispatch.roundTrip(state, t * hidden, crossed, t * hidden);
      }
      computeExperts(l, step, rank, state, tokens, ids);
      int h = hidden;
      for (int t = 0; t < tokens; t++) {
        for (int c = 0; c < topK; c++) {
          slots[c] = placement.slotFor(l, ids[t * topK + c], step, rank, t);
          ranks[c] = placement.rankOfSlot(slots[c]);
        }
        Arrays.fill(acc, t * h, (t + 1) * h, 0f);
        for (int r = nextAbove(ranks, -1); r >= 0; r = nextAbove(ranks, r)) {
          Arrays.fill(partial, 0f);
          for (int c = choiceOn(r, -1); c >= 0; c = choiceOn(r, slots[c])) {
            RowMath.accumulateWeighted(
                partial, 0, weights[t * topK + c], rows, rowOfChoice[t * topK + c] * h, h);
          }
          if (r != rank) {
            combine.roundTrip(partial, 0, partial, 0);
          }
          RowMath.addInto(acc, t * h, partial, 0, h);
        }
      }
    }

    /** The choice on rank {@code r} with the smallest slot above {@code afterSlot}, or -1. */
    private int choiceOn(int r, int afterSlot) {
      int next = -1;
      for (int c = 0; c < topK; c++) {
        if (ranks[c] == r && slots[c] > afterSlot && (next < 0 || slots[c] < slots[next])) {
          next = c;
        }
      }
      return next;
    }

    /**
     * Gathers each choice's token row by expert (as it arrives on the choice's rank: float32 on the
     * token's own, rounded on any other), runs each expert once over all its rows (bitwise equal to
     * running row by row), keeps where each row went.
     */
    private void computeExperts(
        int layer, long step, int rank, float[] state, int tokens, int[] ids) {
      int e = model.experts();
      Arrays.fill(start, 0);
      for (int choice = 0; choice < tokens * topK; choice++) {
        start[ids[choice] + 1]++;
      }
      for (int x = 0; x < e; x++) {
        start[x + 1] += start[x];
      }
      int[] next = Arrays.copyOf(start, e);
      for (int choice = 0; choice < tokens * topK; choice++) {
        int t = choice / topK;
        int row = next[ids[choice]]++;
        rowOfChoice[choice] = row;
        int slot = placement.slotFor(layer, ids[choice], step, rank, t);
        float[] from = placement.rankOfSlot(slot) == rank ? state : crossed;
        System.arraycopy(from, t * hidden, inputs, row * hidden, hidden);
      }
      for (int x = 0; x < e; x++) {
        int count = start[x + 1] - start[x];
        if (count == 0) {
          continue;
        }
        ExpertFfn ffn = expert(layer, x);
        int needed = ffn.scratchLength(count);
        if (scratch.length < needed) {
          scratch = new float[needed];
        }
        ffn.forward(inputs, start[x] * hidden, count, rows, start[x] * hidden, scratch);
      }
    }
  }

  /** The smallest rank in {@code ranks} above {@code after}, or -1. */
  private static int nextAbove(int[] ranks, int after) {
    int next = -1;
    for (int r : ranks) {
      if (r > after && (next < 0 || r < next)) {
        next = r;
      }
    }
    return next;
  }

  @Override
  public String toString() {
    return "ReferenceModel{" + model.describe() + ", " + placement + ", wire " + wire + "}";
  }
}
