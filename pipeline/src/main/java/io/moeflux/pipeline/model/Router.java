package io.moeflux.pipeline.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * The gate of one MoE layer: for each token, logits {@code x . gate + bias}, softmax over the
 * experts, top-k logical experts by probability (ties go to the lower id), and their probabilities
 * renormalised to sum 1.
 *
 * <p>With expert groups (DeepSeek-V3 grouped top-k) a token first keeps the {@code topkGroups}
 * groups with the highest score (the sum of a group's two largest probabilities, or its only one),
 * then picks its top-k among the experts of those groups.
 *
 * <p>The bias is the config's Zipf-like skew, {@code -gateSkew * ln(1 + rank_e)}, with rank_e the
 * place of expert e in a seeded per-layer permutation. Immutable and thread-safe: all mutable state
 * is the caller's scratch.
 */
public final class Router implements TokenRouter {
  /** Tokens whose gate logits are computed together. */
  private static final int BLOCK = 128;

  /** Tokens transposed together: a tile of each input row stays in cache while it is read. */
  private static final int TILE = 8;

  private static final ThreadLocal<BlockBuffers> BLOCK_BUFFERS =
      ThreadLocal.withInitial(BlockBuffers::new);

  private static final long ROUTER_DOMAIN = 0x524f555445523031L;
  private static final long SKEW_DOMAIN = 0x534b455750455231L;

  private final int layer;
  private final int hidden;
  private final int experts;
  private final int topK;
  private final int groups;
  private final int perGroup;
  private final int keptGroups;

  /** Row-major {@code hidden x experts}. */
  private final float[] gate;

  private final float[] bias;
  private final int[] skewRank;

  private Router(ModelConfig c, int layer, float[] gate, float[] bias, int[] skewRank) {
    this.layer = layer;
    this.hidden = c.hidden();
    this.experts = c.experts();
    this.topK = c.topK();
    this.groups = c.grouped() ? c.groups() : 0;
    this.perGroup = c.expertsPerGroup();
    this.keptGroups = c.grouped() ? c.topkGroups() : 0;
    this.gate = gate;
    this.bias = bias;
    this.skewRank = skewRank;
  }

  /** The router of {@code layer}: gate weights and skew are pure functions of (seed, layer). */
  public static Router of(ModelConfig c, int layer) {
    Objects.requireNonNull(c, "c");
    Objects.checkIndex(layer, c.layers());
    int h = c.hidden();
    int e = c.experts();
    long gateKey = CounterBasedRandom.key(CounterBasedRandom.key(c.seed(), ROUTER_DOMAIN), layer);
    float amplitude = (float) (1.0 / Math.sqrt(h));
    float[] gate = new float[h * e];
    for (int n = 0; n < gate.length; n++) {
      gate[n] = CounterBasedRandom.symmetric(gateKey, n, amplitude);
    }
    int[] rank =
        skewRanks(CounterBasedRandom.key(CounterBasedRandom.key(c.seed(), SKEW_DOMAIN), layer), e);
    float[] bias = new float[e];
    for (int x = 0; x < e; x++) {
      bias[x] = (float) (-c.gateSkew() * StrictMath.log(1.0 + rank[x]));
    }
    return new Router(c, layer, gate, bias, rank);
  }

  /** rank[e] = e's place in a seeded Fisher-Yates permutation of the experts. */
  private static int[] skewRanks(long key, int experts) {
    int[] order = new int[experts];
    for (int x = 0; x < experts; x++) {
      order[x] = x;
    }
    for (int x = experts - 1; x > 0; x--) {
      int y = CounterBasedRandom.below(key, x, x + 1);
      int swap = order[x];
      order[x] = order[y];
      order[y] = swap;
    }
    int[] rank = new int[experts];
    for (int place = 0; place < experts; place++) {
      rank[order[place]] = place;
    }
    return rank;
  }

  public int layer() {
    return layer;
  }

  @Override
  public int hidden() {
    return hidden;
  }

  @Override
  public int experts() {
    return experts;
  }

  @Override
  public int topK() {
    return topK;
  }

  /**
   * The place of {@code logicalExpert} in this layer's skew permutation: with {@code gateSkew > 0},
   * rank 0 is the hottest expert.
   */
  public int skewRank(int logicalExpert) {
    return skewRank[Objects.checkIndex(logicalExpert, experts)];
  }

  /** The bias added to {@code logicalExpert}'s logit: {@code -gateSkew * ln(1 + skewRank)}. */
  public float bias(int logicalExpert) {
    return bias[Objects.checkIndex(logicalExpert, experts)];
  }

  /** The gate weight from hidden unit {@code i} to expert {@code e}; for tests. */
  float gateWeight(int i, int e) {
    return gate[Objects.checkIndex(i, hidden) * experts + Objects.checkIndex(e, experts)];
  }

  @Override
  public int scratchLength() {
    return tokenArea();
  }

  @Override
  public long weightBytes() {
    return ((long) gate.length + bias.length) * Float.BYTES;
  }

  private int tokenArea() {
    return 2 * experts + 2 * groups;
  }

  /**
   * Routes {@code tokens} rows of {@code hidden} (row-major, {@code hidden()} floats each) and
   * writes {@code tokens * topK} logical ids and weights, row-major. Within a token the ids are
   * distinct, in descending order of probability, and the weights sum to 1 (up to rounding).
   *
   * @param scratch at least {@link #scratchLength()} floats, contents ignored and overwritten
   */
  @Override
  public void route(
      float[] hidden, int first, int tokens, int[] topkIds, float[] topkWeights, float[] scratch) {
    Objects.requireNonNull(hidden, "hidden");
    Objects.requireNonNull(topkIds, "topkIds");
    Objects.requireNonNull(topkWeights, "topkWeights");
    Objects.requireNonNull(scratch, "scratch");
    if (tokens < 0 || first < 0) {
      throw new IllegalArgumentException(
          "first and tokens must be >= 0, got " + first + " and " + tokens);
    }
    long end = (long) first + tokens;
    requireLength("hidden", hidden.length, end * this.hidden);
    requireLength("topkIds", topkIds.length, end * topK);
    requireLength("topkWeights", topkWeights.length, end * topK);
    requireLength("scratch", scratch.length, scratchLength());
    for (int start = first; start < end; start += BLOCK) {
      int block = (int) Math.min(BLOCK, end - start);
      BlockBuffers buffers = BLOCK_BUFFERS.get().fit(this.hidden, experts);
      logits(hidden, start, block, buffers.inputs, buffers.logits);
      for (int b = 0; b < block; b++) {
        probabilities(scratch, buffers.logits, b);
        if (groups > 0) {
          keepGroups(scratch);
        }
        pickTopK(scratch, topkIds, topkWeights, (start + b) * topK);
      }
    }
  }

  /**
   * Gate logits of {@code block} tokens into {@code lt}, {@code [expert][token]}. The inputs are
   * transposed first (in tiles of {@value #TILE} tokens, so that both sides stream) so that the
   * innermost loop runs over tokens, and four inputs are added per pass over the logits, to load
   * and store each logit once per four products instead of once per product. Each logit is still
   * summed over ascending input index, one product at a time: the same bits as token by token.
   *
   * <p>Every row is an array of its own, indexed from 0 like every other array of the loop, and the
   * loop body holds four products: that is what C2 (JDK 17) vectorises. Rows at offsets within one
   * array, or eight products per pass, stay scalar and run about four times slower.
   */
  private void logits(float[] x, int first, int block, float[][] xt, float[][] lt) {
    int h = hidden;
    int e = experts;
    for (int b0 = 0; b0 < block; b0 += TILE) {
      int tile = Math.min(TILE, block - b0);
      for (int i = 0; i < h; i++) {
        float[] row = xt[i];
        int from = (first + b0) * h + i;
        for (int b = 0; b < tile; b++) {
          row[b0 + b] = x[from + b * h];
        }
      }
    }
    for (int n = 0; n < e; n++) {
      Arrays.fill(lt[n], 0, block, 0f);
    }
    int i = 0;
    for (; i + 4 <= h; i += 4) {
      int w = i * e;
      float[] x0 = xt[i];
      float[] x1 = xt[i + 1];
      float[] x2 = xt[i + 2];
      float[] x3 = xt[i + 3];
      for (int n = 0; n < e; n++) {
        float g0 = gate[w + n];
        float g1 = gate[w + e + n];
        float g2 = gate[w + 2 * e + n];
        float g3 = gate[w + 3 * e + n];
        float[] out = lt[n];
        for (int b = 0; b < block; b++) {
          out[b] = (((out[b] + x0[b] * g0) + x1[b] * g1) + x2[b] * g2) + x3[b] * g3;
        }
      }
    }
    for (; i < h; i++) {
      int w = i * e;
      float[] in = xt[i];
      for (int n = 0; n < e; n++) {
        float g = gate[w + n];
        float[] out = lt[n];
        for (int b = 0; b < block; b++) {
          out[b] += in[b] * g;
        }
      }
    }
  }

  private static void requireLength(String name, int length, long needed) {
    if (length < needed) {
      throw new IllegalArgumentException(
          name + " has " + length + " elements, needs at least " + needed);
    }
  }

  /**
   * One thread's block buffers: the inputs transposed ({@code [input][token]}) and the logits
   * ({@code [expert][token]}), one array per row. A router is shared by every rank of a JVM, so the
   * buffers belong to the thread, not the router; they grow to the widest router it runs.
   */
  private static final class BlockBuffers {
    float[][] inputs = new float[0][];
    float[][] logits = new float[0][];

    BlockBuffers fit(int hidden, int experts) {
      if (inputs.length < hidden) {
        inputs = rows(hidden);
      }
      if (logits.length < experts) {
        logits = rows(experts);
      }
      return this;
    }

    private static float[][] rows(int count) {
      float[][] rows = new float[count][];
      for (int r = 0; r < count; r++) {
        rows[r] = new float[BLOCK];
      }
      return rows;
    }
  }

  /** Softmax of token {@code b}'s biased logits into {@code p[0 .. experts)}. */
  private void probabilities(float[] p, float[][] lt, int b) {
    int e = experts;
    for (int n = 0; n < e; n++) {
      p[n] = lt[n][b];
    }
    float max = Float.NEGATIVE_INFINITY;
    for (int n = 0; n < e; n++) {
      p[n] += bias[n];
      max = Math.max(max, p[n]);
    }
    if (groups == 0) {
      // Plain top-k needs only the order (the same for logits as for probabilities) and the
      // chosen experts' weights, renormalised over the top k, where the softmax denominator
      // cancels: pickTopK takes the exponentials of the k chosen logits only.
      return;
    }
    float sum = 0f;
    for (int n = 0; n < e; n++) {
      p[n] = (float) Math.exp(p[n] - max);
      sum += p[n];
    }
    for (int n = 0; n < e; n++) {
      p[n] /= sum;
    }
  }

  /**
   * Marks experts outside the kept groups as ineligible: scratch[E+n] = 1 for an ineligible or
   * already chosen expert n. Group scores go to scratch[2E .. 2E+G), kept flags after them.
   */
  private void keepGroups(float[] s) {
    int e = experts;
    int score = 2 * e;
    int kept = score + groups;
    for (int g = 0; g < groups; g++) {
      float first = Float.NEGATIVE_INFINITY;
      float second = Float.NEGATIVE_INFINITY;
      for (int n = g * perGroup; n < (g + 1) * perGroup; n++) {
        float v = s[n];
        if (v > first) {
          second = first;
          first = v;
        } else if (v > second) {
          second = v;
        }
      }
      s[score + g] = perGroup == 1 ? first : first + second;
      s[kept + g] = 0f;
    }
    for (int round = 0; round < keptGroups; round++) {
      int best = -1;
      for (int g = 0; g < groups; g++) {
        if (s[kept + g] == 0f && (best < 0 || s[score + g] > s[score + best])) {
          best = g;
        }
      }
      s[kept + best] = 1f;
    }
    for (int n = 0; n < e; n++) {
      s[e + n] = s[kept + n / perGroup] == 1f ? 0f : 1f;
    }
  }

  /**
   * Top-k among eligible experts (ties to the lower id), weights renormalised over the k chosen.
   */
  private void pickTopK(float[] s, int[] ids, float[] weights, int out) {
    int e = experts;
    if (groups == 0) {
      for (int n = 0; n < e; n++) {
        s[e + n] = 0f;
      }
    }
    for (int k = 0; k < topK; k++) {
      int best = -1;
      for (int n = 0; n < e; n++) {
        if (s[e + n] == 0f && (best < 0 || s[n] > s[best])) {
          best = n;
        }
      }
      s[e + best] = 1f;
      ids[out + k] = best;
    }
    if (groups == 0) {
      // s holds logits: weight_k = exp(l_k - l_max) / sum over the chosen, l_max the first pick
      float top = s[ids[out]];
      for (int k = 0; k < topK; k++) {
        s[ids[out + k]] = (float) Math.exp(s[ids[out + k]] - top);
      }
    }
    float sum = 0f;
    for (int k = 0; k < topK; k++) {
      sum += s[ids[out + k]];
    }
    if (!(sum > 0f)) {
      // Every chosen probability underflowed (extreme logits): share the weight evenly rather
      // than emit 0/0.
      for (int k = 0; k < topK; k++) {
        weights[out + k] = 1f / topK;
      }
      return;
    }
    for (int k = 0; k < topK; k++) {
      weights[out + k] = s[ids[out + k]] / sum;
    }
  }

  @Override
  public String toString() {
    return "Router{layer="
        + layer
        + ", experts="
        + experts
        + ", topK="
        + topK
        + (groups > 0 ? ", groups=" + groups + ", topkGroups=" + keptGroups : "")
        + "}";
  }
}
