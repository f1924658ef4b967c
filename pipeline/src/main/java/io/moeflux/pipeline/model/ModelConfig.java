package io.moeflux.pipeline.model;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The shape of the synthetic MoE model that every rank runs. Ranks compare {@link #fingerprint()}
 * at handshake: equal fingerprints mean equal weights, routes and results.
 *
 * <p>Immutable; made by {@link #builder()} (every field has a default, see {@link Builder}) or
 * changed through {@link #toBuilder()}. Two configurations are equal when every field is.
 */
public final class ModelConfig {

  /** Arrays are indexed by int; stay a little below the JVM's limit. */
  private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

  /** Bumped whenever the generated weights or the routing arithmetic change meaning. */
  private static final String MATH_VERSION = "moeflux-model-v1";

  private final int hidden;
  private final int intermediate;
  private final int layers;
  private final int experts;
  private final int topK;
  private final int groups;
  private final int topkGroups;
  private final double gateSkew;
  private final ExpertKind expertKind;
  private final long seed;

  private ModelConfig(Builder b) {
    this.hidden = b.hidden;
    this.intermediate = b.intermediate;
    this.layers = b.layers;
    this.experts = b.experts;
    this.topK = b.topK;
    this.groups = b.groups;
    this.topkGroups = b.topkGroups;
    // -0.0 and 0.0 route identically; make them one configuration with one fingerprint.
    this.gateSkew = b.gateSkew + 0.0;
    this.expertKind = b.expertKind;
    this.seed = b.seed;
  }

  /** A builder holding the defaults listed on {@link Builder}. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this configuration's values. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /**
   * Hidden 64, intermediate 128, 2 layers, 8 experts, top-2, no groups, no skew, SwiGLU, seed 42:
   * the {@link Builder} defaults.
   */
  public static ModelConfig small() {
    return builder().build();
  }

  /** Hidden size H (row length of a token). */
  public int hidden() {
    return hidden;
  }

  /** Expert intermediate size I. */
  public int intermediate() {
    return intermediate;
  }

  /** Number of MoE layers. */
  public int layers() {
    return layers;
  }

  /** Logical experts per layer. */
  public int experts() {
    return experts;
  }

  /** Experts chosen per token. */
  public int topK() {
    return topK;
  }

  /** Expert groups for DeepSeek-V3 grouped top-k; 0 or 1 means plain top-k. */
  public int groups() {
    return groups;
  }

  /** Groups kept per token when {@code groups > 1}; 0 or 1 otherwise. */
  public int topkGroups() {
    return topkGroups;
  }

  /**
   * {@code >= 0}: adds {@code -gateSkew * ln(1 + rank_e)} to expert e's gate logit, where rank_e is
   * e's place in a seeded per-layer permutation, so that load is Zipf-like and the hot experts are
   * not simply 0, 1, 2.
   */
  public double gateSkew() {
    return gateSkew;
  }

  /** What an expert computes. */
  public ExpertKind expertKind() {
    return expertKind;
  }

  /** The seed of every generated weight and permutation. */
  public long seed() {
    return seed;
  }

  /** Whether routing uses DeepSeek-V3 grouped top-k. */
  public boolean grouped() {
    return groups > 1;
  }

  /** Experts per group when {@link #grouped()}, else all experts. */
  public int expertsPerGroup() {
    return grouped() ? experts / groups : experts;
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

  @Override
  public boolean equals(Object o) {
    return o instanceof ModelConfig c
        && hidden == c.hidden
        && intermediate == c.intermediate
        && layers == c.layers
        && experts == c.experts
        && topK == c.topK
        && groups == c.groups
        && topkGroups == c.topkGroups
        && Double.compare(gateSkew, c.gateSkew) == 0
        && expertKind == c.expertKind
        && seed == c.seed;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
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

  @Override
  public String toString() {
    return "ModelConfig[hidden="
        + hidden
        + ", intermediate="
        + intermediate
        + ", layers="
        + layers
        + ", experts="
        + experts
        + ", topK="
        + topK
        + ", groups="
        + groups
        + ", topkGroups="
        + topkGroups
        + ", gateSkew="
        + gateSkew
        + ", expertKind="
        + expertKind
        + ", seed="
        + seed
        + "]";
  }

  /**
   * Collects a {@link ModelConfig}; {@link #build()} checks the fields together. Defaults: hidden
   * 64, intermediate 128, 2 layers, 8 experts, top-2, groups 0 and topkGroups 0 (plain top-k),
   * gateSkew 0, {@link ExpertKind#SWIGLU}, seed 42.
   */
  public static final class Builder {
    private int hidden = 64;
    private int intermediate = 128;
    private int layers = 2;
    private int experts = 8;
    private int topK = 2;
    private int groups;
    private int topkGroups;
    private double gateSkew;
    private ExpertKind expertKind = ExpertKind.SWIGLU;
    private long seed = 42L;

    private Builder() {}

    private Builder(ModelConfig c) {
      this.hidden = c.hidden;
      this.intermediate = c.intermediate;
      this.layers = c.layers;
      this.experts = c.experts;
      this.topK = c.topK;
      this.groups = c.groups;
      this.topkGroups = c.topkGroups;
      this.gateSkew = c.gateSkew;
      this.expertKind = c.expertKind;
      this.seed = c.seed;
    }

    /** Hidden size H, {@code >= 1}; default 64. */
    public Builder hidden(int hidden) {
      this.hidden = hidden;
      return this;
    }

    /** Expert intermediate size I, {@code >= 1}; default 128. */
    public Builder intermediate(int intermediate) {
      this.intermediate = intermediate;
      return this;
    }

    /** MoE layers, {@code >= 1}; default 2. */
    public Builder layers(int layers) {
      this.layers = layers;
      return this;
    }

    /** Logical experts per layer, {@code >= 1}; default 8. */
    public Builder experts(int experts) {
      this.experts = experts;
      return this;
    }

    /** Experts chosen per token, in {@code 1..experts}; default 2. */
    public Builder topK(int topK) {
      this.topK = topK;
      return this;
    }

    /**
     * Expert groups for DeepSeek-V3 grouped top-k, dividing {@code experts}; 0 or 1 (the default 0)
     * means plain top-k.
     */
    public Builder groups(int groups) {
      this.groups = groups;
      return this;
    }

    /**
     * Groups kept per token: in {@code 1..groups} when {@code groups > 1}, else 0 or 1; default 0.
     */
    public Builder topkGroups(int topkGroups) {
      this.topkGroups = topkGroups;
      return this;
    }

    /** Zipf-like gate bias, finite and {@code >= 0}; default 0 (no skew). */
    public Builder gateSkew(double gateSkew) {
      this.gateSkew = gateSkew;
      return this;
    }

    /** What an expert computes; default {@link ExpertKind#SWIGLU}. */
    public Builder expertKind(ExpertKind expertKind) {
      this.expertKind = Objects.requireNonNull(expertKind, "expertKind");
      return this;
    }

    /** The seed of every generated weight and permutation; default 42. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the first field that is out of range or inconsistent
     *     with the others
     */
    public ModelConfig build() {
      requireAtLeastOne("hidden", hidden);
      requireAtLeastOne("intermediate", intermediate);
      requireAtLeastOne("layers", layers);
      requireAtLeastOne("experts", experts);
      if (topK < 1 || topK > experts) {
        throw new IllegalArgumentException(
            "topK must be in 1..experts (" + experts + "), got " + topK);
      }
      checkGroups();
      if (!(gateSkew >= 0) || Double.isInfinite(gateSkew)) {
        throw new IllegalArgumentException("gateSkew must be finite and >= 0, got " + gateSkew);
      }
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
      return new ModelConfig(this);
    }

    private void checkGroups() {
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
        return;
      }
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

    private static void requireAtLeastOne(String name, int value) {
      if (value < 1) {
        throw new IllegalArgumentException(name + " must be >= 1, got " + value);
      }
    }
  }
}
