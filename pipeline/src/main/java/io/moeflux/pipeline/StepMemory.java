package io.moeflux.pipeline;

import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import java.util.Objects;

/**
 * The memory one step's exchange needs, from the configuration alone: the bound a rank holds its
 * peers to ({@link #limits}), so that a legitimate peer never reaches it and no peer can go beyond
 * it. Hidden vectors travel as {@value #WIRE_BYTES}-byte floats; a rank receives at most {@code
 * capacity} tokens from each peer per DISPATCH phase, and at most {@link #maxPaddedTokens} rows per
 * GATHER or COMBINE phase.
 *
 * <p>{@code receiveBytesPerStep = (ranks - 1) × layers × (max(dispatch, gather) + combine frame)}
 * with {@code dispatch = capacity × (topK × 8 + hidden × 4)}, {@code gather = padded × (topK × 8 +
 * hidden × 4)} and {@code combine = padded × hidden × 4} bytes (plus a 24-byte header each).
 */
public final class StepMemory {
  /** Bytes of one hidden value on the wire (float32). */
  public static final int WIRE_BYTES = Float.BYTES;

  /**
   * The largest CONTROL or BULK frame: a weight-migration chunk of 1 MiB and its header. Heat, plan
   * and sync frames are much smaller.
   */
  public static final int BULK_FRAME_BYTES = 1024 * 1024 + FrameHeaderCodec.HEADER_BYTES;

  /** A rank that syncs runs a batch up to this many times its capacity padded. */
  public static final int PADDED_FACTOR = 4;

  /** CONTROL and BULK frames one peer may have in flight: lockstep keeps them to a few. */
  private static final int BULK_FRAMES_IN_FLIGHT = 4;

  private StepMemory() {}

  /**
   * The most tokens a rank that syncs runs in the padded all-gather: its largest batch ({@link
   * io.moeflux.pipeline.sync.SyncOptions#maxBatchTokens()}) or {@value #PADDED_FACTOR} × the
   * capacity, whichever is more. A step whose largest batch is over it is refused on every rank.
   */
  public static int maxPaddedTokens(PipelineConfig config) {
    Objects.requireNonNull(config, "config");
    long padded =
        Math.max(config.sync().maxBatchTokens(), (long) PADDED_FACTOR * config.maxTokensPerRank());
    return (int) Math.min(Integer.MAX_VALUE, padded);
  }

  /** The largest DISPATCH frame (header included). */
  public static long dispatchFrameBytes(PipelineConfig config) {
    return frame(
        (long) config.maxTokensPerRank()
            * (config.model().topK() * 8L + (long) config.model().hidden() * WIRE_BYTES));
  }

  /**
   * The largest COMBINE frame (header included): in the padded all-gather a rank sends every token
   * of a peer's padded batch back to it.
   */
  public static long combineFrameBytes(PipelineConfig config) {
    return frame((long) maxPaddedTokens(config) * config.model().hidden() * WIRE_BYTES);
  }

  /** The largest GATHER frame (header included): every padded row with its picks. */
  public static long gatherFrameBytes(PipelineConfig config) {
    return frame(
        (long) maxPaddedTokens(config)
            * (config.model().topK() * 8L + (long) config.model().hidden() * WIRE_BYTES));
  }

  /** What one peer sends this rank in one step, at most. */
  public static long peerBytesPerStep(PipelineConfig config) {
    long exchange = Math.max(dispatchFrameBytes(config), gatherFrameBytes(config));
    return config.model().layers() * (exchange + combineFrameBytes(config));
  }

  /** What one step's frames from every peer take on a rank of {@code ranks}, at most. */
  public static long receiveBytesPerStep(PipelineConfig config, int ranks) {
    return (ranks - 1) * peerBytesPerStep(config);
  }

  /**
   * The limits a rank of this configuration holds its peers to: frames up to the largest one a step
   * or a migration sends, bodies checked against the model's shape and the capacity, and per peer
   * the frames of {@code stepWindow} + 2 steps plus a few bulk frames.
   */
  public static InboundLimits limits(PipelineConfig config, int stepWindow) {
    long largest =
        Math.max(
            Math.max(dispatchFrameBytes(config), gatherFrameBytes(config)),
            Math.max(combineFrameBytes(config), BULK_FRAME_BYTES));
    if (largest > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "a frame of this configuration would be "
              + largest
              + " bytes, over 2 GiB: lower the capacity or the padded batch");
    }
    long perPeer =
        (stepWindow + 2L) * peerBytesPerStep(config)
            + (long) BULK_FRAMES_IN_FLIGHT * BULK_FRAME_BYTES;
    return InboundLimits.builder()
        .maxFrameBytes((int) largest)
        .maxBytesPerPeer(perPeer)
        .stepWindow(stepWindow)
        .shape(
            config.model().hidden(),
            config.model().topK(),
            config.maxTokensPerRank(),
            maxPaddedTokens(config))
        .build();
  }

  private static long frame(long body) {
    return FrameHeaderCodec.HEADER_BYTES + body;
  }
}
