package io.moeflux.transport;

import io.moeflux.transport.protocol.WireFormat;
import io.netty.buffer.ByteBufAllocator;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Everything one rank needs to join a mesh. Immutable; made with {@link #builder()}, changed with
 * {@link #toBuilder()}.
 *
 * <p>Required: {@link Builder#rank rank}, {@link Builder#worldSize worldSize}, {@link
 * Builder#transport transport}. Defaults:
 *
 * <ul>
 *   <li>{@link #fingerprint()}: {@link MeshFingerprint#EMPTY} (every peer agrees)
 *   <li>{@link #secret()}: {@link MeshSecret#NONE}, allowed only when this rank's address is
 *       loopback (or in-JVM)
 *   <li>{@link #limits()}: {@link InboundLimits#DEFAULTS}
 *   <li>{@link #connectTimeout()}: 30 s
 *   <li>{@link #phaseTimeout()}: 30 s
 *   <li>{@link #keepAliveInterval()}: 1 s, {@link #keepAliveMaxLifetime()}: 6 s
 *   <li>{@link #wire()}: {@link WireFormat#F32}
 *   <li>{@link #allocator()}: {@link ByteBufAllocator#DEFAULT} (pooled, direct)
 * </ul>
 */
public final class MeshConfig {
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_PHASE_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_KEEP_ALIVE_INTERVAL = Duration.ofSeconds(1);
  public static final Duration DEFAULT_KEEP_ALIVE_MAX_LIFETIME = Duration.ofSeconds(6);

  private final int rank;
  private final int worldSize;
  private final MeshTransport transport;
  private final MeshFingerprint fingerprint;
  private final MeshSecret secret;
  private final InboundLimits limits;
  private final Duration connectTimeout;
  private final Duration phaseTimeout;
  private final Duration keepAliveInterval;
  private final Duration keepAliveMaxLifetime;
  private final WireFormat wire;
  private final ByteBufAllocator allocator;

  private MeshConfig(Builder b, MeshTransport transport) {
    this.rank = b.rank;
    this.worldSize = b.worldSize;
    this.transport = transport;
    this.fingerprint = b.fingerprint;
    this.secret = b.secret;
    this.limits = b.limits;
    this.connectTimeout = b.connectTimeout;
    this.phaseTimeout = b.phaseTimeout;
    this.keepAliveInterval = b.keepAliveInterval;
    this.keepAliveMaxLifetime = b.keepAliveMaxLifetime;
    this.wire = b.wire;
    this.allocator = b.allocator;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this configuration's values. */
  public Builder toBuilder() {
    return new Builder()
        .rank(rank)
        .worldSize(worldSize)
        .transport(transport)
        .fingerprint(fingerprint)
        .secret(secret)
        .limits(limits)
        .connectTimeout(connectTimeout)
        .phaseTimeout(phaseTimeout)
        .keepAlive(keepAliveInterval, keepAliveMaxLifetime)
        .wire(wire)
        .allocator(allocator);
  }

  /** This rank, {@code 0 <= rank < worldSize}. */
  public int rank() {
    return rank;
  }

  /** Number of ranks. */
  public int worldSize() {
    return worldSize;
  }

  /** How the ranks reach each other; every rank of a group has the same one. */
  public MeshTransport transport() {
    return transport;
  }

  /** What every peer must agree on: ranks with different entries refuse each other. */
  public MeshFingerprint fingerprint() {
    return fingerprint;
  }

  /**
   * What the ranks of the group prove to each other before any frame: a peer that cannot prove it
   * is refused.
   */
  public MeshSecret secret() {
    return secret;
  }

  /** What a peer may make this rank hold: frame sizes, steps ahead, bytes per peer. */
  public InboundLimits limits() {
    return limits;
  }

  /** How long start-up waits for every peer to come up and handshake. */
  public Duration connectTimeout() {
    return connectTimeout;
  }

  /** How long a receive waits for a peer's frame before the mesh fails. */
  public Duration phaseTimeout() {
    return phaseTimeout;
  }

  /** RSocket keep-alive tick. */
  public Duration keepAliveInterval() {
    return keepAliveInterval;
  }

  /** A silent peer is declared lost after this long. */
  public Duration keepAliveMaxLifetime() {
    return keepAliveMaxLifetime;
  }

  /**
   * The precision hidden values travel in, per phase: a DATA frame that arrives in another one is a
   * protocol violation of its sender. Ranks of a group agree on it through the fingerprint.
   */
  public WireFormat wire() {
    return wire;
  }

  /**
   * Where this rank's frames come from ({@link io.moeflux.transport.RankMesh#allocator()}): the
   * data path allocates every frame it sends here, and fails the step with the reason when an
   * allocation fails.
   */
  public ByteBufAllocator allocator() {
    return allocator;
  }

  @Override
  public String toString() {
    return "MeshConfig{rank="
        + rank
        + ", worldSize="
        + worldSize
        + ", transport="
        + transport
        + ", fingerprint={"
        + fingerprint
        + "}, secret="
        + secret
        + ", connectTimeout="
        + connectTimeout
        + ", phaseTimeout="
        + phaseTimeout
        + ", keepAlive="
        + keepAliveInterval
        + "/"
        + keepAliveMaxLifetime
        + ", wire="
        + wire
        + "}";
  }

  /** Collects the fields; {@link #build()} checks them and names the first that is wrong. */
  public static final class Builder {
    private int rank = -1;
    private int worldSize;
    private @Nullable MeshTransport transport;
    private MeshFingerprint fingerprint = MeshFingerprint.EMPTY;
    private MeshSecret secret = MeshSecret.NONE;
    private InboundLimits limits = InboundLimits.DEFAULTS;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private Duration phaseTimeout = DEFAULT_PHASE_TIMEOUT;
    private Duration keepAliveInterval = DEFAULT_KEEP_ALIVE_INTERVAL;
    private Duration keepAliveMaxLifetime = DEFAULT_KEEP_ALIVE_MAX_LIFETIME;
    private WireFormat wire = WireFormat.F32;
    private ByteBufAllocator allocator = ByteBufAllocator.DEFAULT;

    private Builder() {}

    /** This rank. Required. */
    public Builder rank(int rank) {
      this.rank = rank;
      return this;
    }

    /** Number of ranks. Required. */
    public Builder worldSize(int worldSize) {
      this.worldSize = worldSize;
      return this;
    }

    /** How the ranks reach each other. Required. */
    public Builder transport(MeshTransport transport) {
      this.transport = Objects.requireNonNull(transport, "transport");
      return this;
    }

    /** Default {@link MeshFingerprint#EMPTY}. */
    public Builder fingerprint(MeshFingerprint fingerprint) {
      this.fingerprint = Objects.requireNonNull(fingerprint, "fingerprint");
      return this;
    }

    /** Default {@link MeshSecret#NONE}: only for a rank whose address is loopback or in-JVM. */
    public Builder secret(MeshSecret secret) {
      this.secret = Objects.requireNonNull(secret, "secret");
      return this;
    }

    /** Default {@link InboundLimits#DEFAULTS}. */
    public Builder limits(InboundLimits limits) {
      this.limits = Objects.requireNonNull(limits, "limits");
      return this;
    }

    /** Default 30 s. */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Objects.requireNonNull(timeout, "connectTimeout");
      return this;
    }

    /** Default 30 s. */
    public Builder phaseTimeout(Duration timeout) {
      this.phaseTimeout = Objects.requireNonNull(timeout, "phaseTimeout");
      return this;
    }

    /** Default 1 s tick, peer lost after 6 s of silence. */
    public Builder keepAlive(Duration interval, Duration maxLifetime) {
      this.keepAliveInterval = Objects.requireNonNull(interval, "keepAliveInterval");
      this.keepAliveMaxLifetime = Objects.requireNonNull(maxLifetime, "keepAliveMaxLifetime");
      return this;
    }

    /** Default {@link WireFormat#F32}. */
    public Builder wire(WireFormat wire) {
      this.wire = Objects.requireNonNull(wire, "wire");
      return this;
    }

    /** Default {@link ByteBufAllocator#DEFAULT}. */
    public Builder allocator(ByteBufAllocator allocator) {
      this.allocator = Objects.requireNonNull(allocator, "allocator");
      return this;
    }

    /**
     * The configuration.
     *
     * @throws IllegalArgumentException naming the field that is missing or out of range, or saying
     *     that a rank whose address is not loopback needs a secret
     */
    public MeshConfig build() {
      if (worldSize < 1) {
        throw new IllegalArgumentException("worldSize must be >= 1, got " + worldSize);
      }
      if (rank < 0 || rank >= worldSize) {
        throw new IllegalArgumentException("rank must be in [0, " + worldSize + "), got " + rank);
      }
      MeshTransport chosen = transport;
      if (chosen == null) {
        throw new IllegalArgumentException("transport is required");
      }
      chosen.checkWorldSize(worldSize);
      if (secret.isNone() && !chosen.isLoopback(rank)) {
        throw new IllegalArgumentException(
            chosen.describe(rank)
                + " is not a loopback address, so other hosts can reach it: set a secret that"
                + " every rank of the group shares (--secret-file FILE or MOEFLUX_SECRET_FILE;"
                + " MeshConfig.Builder.secret), so that only ranks holding it can join");
      }
      positive("connectTimeout", connectTimeout);
      positive("phaseTimeout", phaseTimeout);
      positive("keepAliveInterval", keepAliveInterval);
      positive("keepAliveMaxLifetime", keepAliveMaxLifetime);
      return new MeshConfig(this, chosen);
    }

    private static void positive(String field, Duration value) {
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(field + " must be > 0, got " + value);
      }
    }
  }
}
