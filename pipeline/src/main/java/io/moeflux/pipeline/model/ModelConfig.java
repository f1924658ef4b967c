package io.moeflux.pipeline.model;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The shape of the synthetic MoE model that every rank runs. Ranks compare {@link #fingerprint()}
 * at handshake: equal fingerprints mean equal weights, routes and results.
 *
 * @param hidden hidden size H (row length of a token)
 * @param intermediate expert intermediate size I
 * @param layers number of MoE layers
 * @param experts logical experts per layer
 * @param topK experts chosen per token
 * @param groups expert groups for DeepSeek-V3 grouped top-k; 0 or 1 means plain top-k
 * @param topkGroups groups kept per token when {@code groups > 1}; 0 or 1 otherwise
 * @param gateSkew {@code >= 0}: adds {@code -gateSkew * ln(1 + rank_e)} to expert e's gate logit,
 *     where rank_e is e's place in a seeded per-layer permutation, so that load is Zipf-like and
 *     the hot experts are not simply 0, 1, 2
 * @param expertKind what an expert computes
 * @param seed the seed of every generated weight and permutation
 */
public record ModelConfig(
    int hidden,
    int intermediate,
    int layers,
    int experts,
    int topK,
    int groups,
    int topkGroups,
    double gateSkew,
    ExpertKind expertKind,
    long seed) {

  /** Arrays are indexed by int; stay a little below the JVM's limit. */
  private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

  /** Bumped whenever the generated weights or the routing arithmetic change meaning. */
  private static final String MATH_VERSION = "moeflux-model-v1";

  public ModelConfig {
    Objects.requireNonNull(expertKind, "expertKind");
    requireAtLeastOne("hidden", hidden);
    requireAtLeastOne("intermediate", intermediate);
    requireAtLeastOne("layers", layers);
    requireAtLeastOne("experts", experts);
    if (topK < 1 || topK > experts) {
      throw new IllegalArgumentException(
          "topK must be in 1..experts (" + experts + "), got " + topK);
    }
    if (groups < 0) {
      throw new IllegalArgumentException("groups must be >= 0, got " + groups);
    }
    if (groups <= 1) {
      if (topkGroups < 0 || topkGroups > 1) {
        throw new IllegalArgumentException(
            "topkGroups must be 0 or 1 without expert groups (groups = "
                + groups
                + "), got "
                + topkGroups);
      }
    } else {
      if (experts % groups != 0) {
        throw new IllegalArgumentException(
            "groups (" + groups + ") must divide experts (" + experts + ")");
      }
      if (topkGroups < 1 || topkGroups > groups) {
        throw new IllegalArgumentException(
            "topkGroups must be in 1..groups (" + groups + "), got " + topkGroups);
      }
      int candidates = topkGroups * (experts / groups);
      if (candidates < topK) {
        throw new IllegalArgumentException(
            "topkGroups * experts / groups = "
                + topkGroups
                + " * "
                + experts
                + " / "
                + groups
                + " = "
                + candidates
                + " experts to choose from, fewer than topK ("
                + topK
                + ")");
      }
    }
    if (!(gateSkew >= 0) || Double.isInfinite(gateSkew)) {
      throw new IllegalArgumentException("gateSkew must be finite and >= 0, got " + gateSkew);
    }
    // -0.0 and 0.0 route identically; make them one configuration with one fingerprint.
    gateSkew = gateSkew + 0.0;
    if (3L * hidden * intermediate > MAX_ARRAY) {
      throw new IllegalArgumentException(
          "one expert's weights (3 * hidden * intermediate = "
              + 3L * hidden * intermediate
              + " floats) do not fit in a Java array");
    }
    if ((long) hidden * experts > MAX_ARRAY) {
      throw new IllegalArgumentException(
          "the router's gate (hidden * experts = "
              + (long) hidden * experts
              + " floats) does not fit in a Java array");
    }
  }

  private static void requireAtLeastOne(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be >= 1, got " + value);
    }
  }

  /**
   * Hidden 64, intermediate 128, 2 layers, 8 experts, top-2, no groups, no skew, SwiGLU, seed 42.
   */
  public static ModelConfig small() {
    return new ModelConfig(64, 128, 2, 8, 2, 0, 0, 0.0, ExpertKind.SWIGLU, 42L);
  }

  /** Whether routing uses DeepSeek-V3 grouped top-k. */
  public boolean grouped() {
    return groups > 1;
  }

  /** Experts per group when {@link #grouped()}, else all experts. */
  public int expertsPerGroup() {
    return grouped() ? experts / groups : experts;
  }

  public ModelConfig withHidden(int hidden) {
    return new ModelConfig(
        hidden,
        intermediate,
        layers,
        experts,
        topK,
        groups,
        topkGroups,
        gateSkew,
        expertKind,
        seed);
  }

  public ModelConfig withIntermediate(int intermediate) {
    return new ModelConfig(
        hidden,
        intermediate,
        layers,
        experts,
        topK,
        groups,
        topkGroups,
        gateSkew,
        expertKind,
        seed);
  }

  public ModelConfig withLayers(int layers) {
    return new ModelConfig(
        hidden,
        intermediate,
        layers,
        experts,
        topK,
        groups,
        topkGroups,
        gateSkew,
        expertKind,
        seed);
  }

  public ModelConfig withExperts(int experts) {
    return new ModelConfig(
        hidden,
        intermediate,
        layers,
        experts,
        topK,
        groups,
        topkGroups,
        gateSkew,
        expertKind,
        seed);
  }

  public ModelConfig withTopK(int topK) {
    return new ModelConfig(
        hidden,
        intermediate,
        layers,
        experts,
        topK,
        groups,
        topkGroups,
        gateSkew,
        expertKind,
        seed);
  }

  public ModelConfig withGroups(int groups, int topkGroups) {
    return new ModelConfig(
        hidden,
        intermediate,
        layers,
        experts,
        topK,
        groups,
        topkGroups,
        gateSkew,
        expertKind,
        seed);
  }

  public ModelConfig withGateSkew(double gateSkew) {
    return new ModelConfig(
        hidden,
        intermediate,
        layers,
        experts,
        topK,
        groups,
        topkGroups,
        gateSkew,
        expertKind,
        seed);
  }

  public ModelConfig withExpertKind(ExpertKind expertKind) {
    return new ModelConfig(
        hidden,
        intermediate,
        layers,
        experts,
        topK,
        groups,
        topkGroups,
        gateSkew,
        expertKind,
        seed);
  }

  public ModelConfig withSeed(long seed) {
    return new ModelConfig(
        hidden,
        intermediate,
        layers,
        experts,
        topK,
        groups,
        topkGroups,
        gateSkew,
        expertKind,
        seed);
  }

  /**
   * A 16-hex-digit hash of every field and of the version of the model arithmetic. Stable across
   * JVMs and runs (it uses no {@code hashCode}), so ranks can compare it at handshake.
   */
  public String fingerprint() {
    long h = CounterBasedRandom.key(0, 0);
    for (byte b : MATH_VERSION.getBytes(StandardCharsets.US_ASCII)) {
      h = CounterBasedRandom.key(h, b);
    }
    h = CounterBasedRandom.key(h, hidden);
    h = CounterBasedRandom.key(h, intermediate);
    h = CounterBasedRandom.key(h, layers);
    h = CounterBasedRandom.key(h, experts);
    h = CounterBasedRandom.key(h, topK);
    h = CounterBasedRandom.key(h, groups);
    h = CounterBasedRandom.key(h, topkGroups);
    h = CounterBasedRandom.key(h, Double.doubleToLongBits(gateSkew));
    h = CounterBasedRandom.key(h, expertKind.name().length());
    for (byte b : expertKind.name().getBytes(StandardCharsets.US_ASCII)) {
      h = CounterBasedRandom.key(h, b);
    }
    h = CounterBasedRandom.key(h, seed);
    return String.format("%016x", h);
  }
}
