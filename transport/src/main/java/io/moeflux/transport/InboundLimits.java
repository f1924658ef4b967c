package io.moeflux.transport;

/**
 * How much a peer may make this rank hold, checked before a frame is held: every byte from the
 * network is bounded. A peer that goes beyond is a protocol error that names it. Immutable; made
 * with {@link #builder()}.
 *
 * <p>The defaults bound memory without knowing the model: frames up to 64 MiB, 256 MiB held per
 * peer, DATA frames at most 4 steps ahead, 64 CONTROL or BULK phases held per peer, and no check of
 * DATA bodies against a shape. A rank that runs a model sets the exact limits its steps need (the
 * pipeline derives them from capacity, ranks, hidden size and wire precision), so that a legitimate
 * peer never reaches them.
 */
public final class InboundLimits {
  public static final int DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
  public static final long DEFAULT_MAX_BYTES_PER_PEER = 256L * 1024 * 1024;
  public static final int DEFAULT_STEP_WINDOW = 4;
  public static final int DEFAULT_MAX_HELD_PHASES = 64;

  /** The defaults above. */
  public static final InboundLimits DEFAULTS = builder().build();

  private final int maxFrameBytes;
  private final long maxBytesPerPeer;
  private final int stepWindow;
  private final int maxHeldPhases;
  private final int hidden;
  private final int topK;
  private final int maxTokens;
  private final int maxPaddedTokens;

  private InboundLimits(Builder b) {
    this.maxFrameBytes = b.maxFrameBytes;
    this.maxBytesPerPeer = b.maxBytesPerPeer;
    this.stepWindow = b.stepWindow;
    this.maxHeldPhases = b.maxHeldPhases;
    this.hidden = b.hidden;
    this.topK = b.topK;
    this.maxTokens = b.maxTokens;
    this.maxPaddedTokens = b.maxPaddedTokens;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxFrameBytes = maxFrameBytes;
    b.maxBytesPerPeer = maxBytesPerPeer;
    b.stepWindow = stepWindow;
    b.maxHeldPhases = maxHeldPhases;
    b.hidden = hidden;
    b.topK = topK;
    b.maxTokens = maxTokens;
    b.maxPaddedTokens = maxPaddedTokens;
    return b;
  }

  /** The largest frame (header and body) a peer may send: larger payloads are never reassembled. */
  public int maxFrameBytes() {
    return maxFrameBytes;
  }

  /** The most frame bytes this rank holds for one peer before they are asked for. */
  public long maxBytesPerPeer() {
    return maxBytesPerPeer;
  }

  /**
   * W: how many steps past the last step this rank completed a DATA frame may be for. Ranks run in
   * lockstep, so a peer is never more than one step ahead.
   */
  public int stepWindow() {
    return stepWindow;
  }

  /** The most CONTROL and BULK phases (heat, plan, sync, migration) held for one peer. */
  public int maxHeldPhases() {
    return maxHeldPhases;
  }

  /** Whether DATA bodies are checked against a shape ({@link #hidden()} is set). */
  public boolean checksShapes() {
    return hidden > 0;
  }

  /** Hidden size of a DATA row; 0 when DATA bodies are not checked against a shape. */
  public int hidden() {
    return hidden;
  }

  /** Picks per token in DISPATCH and GATHER bodies. */
  public int topK() {
    return topK;
  }

  /** The most tokens a DISPATCH frame carries: the capacity. */
  public int maxTokens() {
    return maxTokens;
  }

  /** The most rows a GATHER frame carries (its padded count), and tokens a COMBINE frame does. */
  public int maxPaddedTokens() {
    return maxPaddedTokens;
  }

  @Override
  public String toString() {
    return "InboundLimits{maxFrameBytes="
        + maxFrameBytes
        + ", maxBytesPerPeer="
        + maxBytesPerPeer
        + ", stepWindow="
        + stepWindow
        + ", maxHeldPhases="
        + maxHeldPhases
        + (checksShapes()
            ? ", hidden="
                + hidden
                + ", topK="
                + topK
                + ", maxTokens="
                + maxTokens
                + ", maxPaddedTokens="
                + maxPaddedTokens
            : "")
        + "}";
  }

  /** Collects the limits; {@link #build()} checks them and names the first that is wrong. */
  public static final class Builder {
    private int maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
    private long maxBytesPerPeer = DEFAULT_MAX_BYTES_PER_PEER;
    private int stepWindow = DEFAULT_STEP_WINDOW;
    private int maxHeldPhases = DEFAULT_MAX_HELD_PHASES;
    private int hidden;
    private int topK;
    private int maxTokens;
    private int maxPaddedTokens;

    private Builder() {}

    /** Default 64 MiB. */
    public Builder maxFrameBytes(int bytes) {
      this.maxFrameBytes = bytes;
      return this;
    }

    /** Default 256 MiB. */
    public Builder maxBytesPerPeer(long bytes) {
      this.maxBytesPerPeer = bytes;
      return this;
    }

    /** W, default 4. */
    public Builder stepWindow(int steps) {
      this.stepWindow = steps;
      return this;
    }

    /** Default 64. */
    public Builder maxHeldPhases(int phases) {
      this.maxHeldPhases = phases;
      return this;
    }

    /**
     * Checks every DATA body against this shape: rows of {@code hidden} floats, {@code topK} picks
     * per token, at most {@code maxTokens} tokens per DISPATCH frame and {@code maxPaddedTokens}
     * rows per GATHER frame or tokens per COMBINE frame. Default: no shape check.
     */
    public Builder shape(int hidden, int topK, int maxTokens, int maxPaddedTokens) {
      this.hidden = hidden;
      this.topK = topK;
      this.maxTokens = maxTokens;
      this.maxPaddedTokens = maxPaddedTokens;
      return this;
    }

    /**
     * The limits.
     *
     * @throws IllegalArgumentException naming the limit that is out of range
     */
    public InboundLimits build() {
      if (maxFrameBytes < 1024) {
        throw new IllegalArgumentException("maxFrameBytes must be >= 1024, got " + maxFrameBytes);
      }
      if (maxBytesPerPeer < maxFrameBytes) {
        throw new IllegalArgumentException(
            "maxBytesPerPeer must be >= maxFrameBytes ("
                + maxFrameBytes
                + "), got "
                + maxBytesPerPeer);
      }
      if (stepWindow < 1) {
        throw new IllegalArgumentException("stepWindow must be >= 1, got " + stepWindow);
      }
      if (maxHeldPhases < 1) {
        throw new IllegalArgumentException("maxHeldPhases must be >= 1, got " + maxHeldPhases);
      }
      if (hidden < 0 || topK < 0 || maxTokens < 0 || maxPaddedTokens < maxTokens) {
        throw new IllegalArgumentException(
            "shape must have hidden, topK, maxTokens >= 0 and maxPaddedTokens >= maxTokens, got "
                + hidden
                + ", "
                + topK
                + ", "
                + maxTokens
                + ", "
                + maxPaddedTokens);
      }
      return new InboundLimits(this);
    }
  }
}
