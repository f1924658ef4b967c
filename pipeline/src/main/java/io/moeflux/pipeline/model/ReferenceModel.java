package io.moeflux.pipeline.model;

import io.moeflux.pipeline.TokenBatch;
import java.util.Arrays;
import java.util.Objects;

/**
 * The whole MoE stack in one process, the yardstick a distributed run must match bit for bit. Per
 * layer l, with h the current hidden states:
 *
 * <ol>
 *   <li>{@link Router#route} gives each token t its experts {@code ids[t,k]} and weights {@code
 *       w[t,k]};
 *   <li>each choice goes to slot {@code placement.physical(l, ids[t,k], t + rank)} on rank {@code
 *       rankOfSlot(slot)}, and {@code y_k = expert(l, ids[t,k])(h_t)};
 *   <li>the combine of {@link RowMath}: per destination rank ascending a weighted partial sum over
 *       k ascending, the partials summed in rank order, and the result added to {@code h_t}.
 * </ol>
 *
 * The rank matters only through the order of the sums: it picks the replicas, hence which choices
 * share a partial. Thread-safe; each call allocates its own buffers.
 */
public final class ReferenceModel {
  private final ModelConfig config;
  private final ExpertBank bank;
  private final Placement placement;
  private final Router[] routers;

  public ReferenceModel(ModelConfig c, ExpertBank bank, Placement placement) {
    this.config = Objects.requireNonNull(c, "c");
    this.bank = Objects.requireNonNull(bank, "bank");
    this.placement = Objects.requireNonNull(placement, "placement");
    if (!bank.config().equals(c)) {
      throw new IllegalArgumentException(
          "bank was built for config " + bank.config().fingerprint() + ", not " + c.fingerprint());
    }
    if (placement.layers() != c.layers() || placement.experts() != c.experts()) {
      throw new IllegalArgumentException(
          "placement has "
              + placement.layers()
              + " layers of "
              + placement.experts()
              + " experts, the model "
              + c.layers()
              + " of "
              + c.experts());
    }
    this.routers = new Router[c.layers()];
    for (int l = 0; l < routers.length; l++) {
      routers[l] = Router.of(c, l);
    }
  }

  public ModelConfig config() {
    return config;
  }

  public Placement placement() {
    return placement;
  }

  /** The router of {@code layer}, shared and immutable. */
  public Router router(int layer) {
    return routers[Objects.checkIndex(layer, routers.length)];
  }

  /**
   * Runs {@code in} (this rank's tokens for one step) through every layer.
   *
   * @return a {@link TokenBatch} with routing of the same step and stage: the final hidden states
   *     and the last layer's ids and weights
   */
  public TokenBatch forward(int rank, TokenBatch in) {
    Objects.requireNonNull(in, "in");
    Objects.checkIndex(rank, placement.ranks());
    if (in.hidden() != config.hidden()) {
      throw new IllegalArgumentException(
          "batch hidden size " + in.hidden() + " differs from the model's " + config.hidden());
    }
    int tokens = in.tokens();
    int h = config.hidden();
    int k = config.topK();
    int choices = tokens * k;
    float[] state = in.data().clone();
    int[] ids = new int[choices];
    float[] weights = new float[choices];
    float[] routeScratch = new float[routers[0].scratchLength()];
    ExpertOutputs outputs = new ExpertOutputs(config, choices);
    int[] ranks = new int[k];
    float[] partial = new float[h];
    float[] acc = new float[h];
    for (int l = 0; l < config.layers(); l++) {
      routers[l].route(state, tokens, ids, weights, routeScratch);
      outputs.compute(bank, l, state, ids);
      for (int t = 0; t < tokens; t++) {
        for (int c = 0; c < k; c++) {
          ranks[c] = placement.rankOfSlot(placement.physical(l, ids[t * k + c], t + rank));
        }
        Arrays.fill(acc, 0f);
        for (int r = nextRank(ranks, -1); r >= 0; r = nextRank(ranks, r)) {
          Arrays.fill(partial, 0f);
          for (int c = 0; c < k; c++) {
            if (ranks[c] == r) {
              RowMath.accumulateWeighted(
                  partial, 0, weights[t * k + c], outputs.rows, outputs.rowOf(t * k + c) * h, h);
            }
          }
          RowMath.addInto(acc, 0, partial, 0, h);
        }
        RowMath.addInto(state, t * h, acc, 0, h);
      }
    }
    return new TokenBatch(in.step(), tokens, h, state, in.prefill(), ids, weights);
  }

  /** The smallest rank in {@code ranks} above {@code after}, or -1. */
  private static int nextRank(int[] ranks, int after) {
    int next = -1;
    for (int r : ranks) {
      if (r > after && (next < 0 || r < next)) {
        next = r;
      }
    }
    return next;
  }

  /**
   * Every (token, choice)'s expert output for one layer. Choices are grouped per logical expert so
   * each expert runs once over all its rows, which is bitwise equal to running row by row.
   */
  private static final class ExpertOutputs {
    private final int hidden;
    private final int experts;
    private final int topK;
    private final float[] inputs;
    final float[] rows;
    private final int[] rowOfChoice;
    private final int[] start;
    private float[] scratch = new float[0];

    ExpertOutputs(ModelConfig c, int choices) {
      this.hidden = c.hidden();
      this.experts = c.experts();
      this.topK = c.topK();
      this.inputs = new float[choices * hidden];
      this.rows = new float[choices * hidden];
      this.rowOfChoice = new int[choices];
      this.start = new int[experts + 1];
    }

    int rowOf(int choice) {
      return rowOfChoice[choice];
    }

    /** Gathers each choice's token row by expert, runs the experts, keeps where each row went. */
    void compute(ExpertBank bank, int layer, float[] state, int[] ids) {
      Arrays.fill(start, 0);
      for (int id : ids) {
        start[id + 1]++;
      }
      for (int e = 0; e < experts; e++) {
        start[e + 1] += start[e];
      }
      int[] next = Arrays.copyOf(start, experts);
      for (int choice = 0; choice < ids.length; choice++) {
        int row = next[ids[choice]]++;
        rowOfChoice[choice] = row;
        System.arraycopy(state, (choice / topK) * hidden, inputs, row * hidden, hidden);
      }
      for (int e = 0; e < experts; e++) {
        int count = start[e + 1] - start[e];
        if (count == 0) {
          continue;
        }
        ExpertFfn ffn = bank.expert(layer, e);
        int needed = ffn.scratchLength(count);
        if (scratch.length < needed) {
          scratch = new float[needed];
        }
        ffn.forward(inputs, start[e] * hidden, count, rows, start[e] * hidden, scratch);
      }
    }
  }

  @Override
  public String toString() {
    return "ReferenceModel{" + config.fingerprint() + ", " + placement + "}";
  }
}
