package io.moeflux.pipeline;

import io.moeflux.pipeline.sync.SyncDecision;
import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.protocol.CombineFrameCodec;
import io.moeflux.transport.protocol.DispatchFrameCodec;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.GatherFrameCodec;
import io.moeflux.transport.protocol.WireFormat;
import java.util.Objects;

/**
 * The memory one step's exchange needs, from the configuration alone: capacity, ranks, model shape,
 * wire precision and micro-batches. The one place that computes it; the start-up check against the
 * direct-memory limit ({@link #checkFits}), the benchmarks' bound ({@link #directBytesPerRank}) and
 * the limits a rank holds its peers to ({@link #limits}: a legitimate peer never reaches them, and
 * no peer can go beyond them) all read it from here.
 *
 * <p>Frames are direct memory. A rank receives at most {@code capacity} tokens from each peer per
 * DISPATCH phase (over all micro-batches of a step), and at most {@link #maxPaddedTokens} rows per
 * GATHER or COMBINE phase; its own frames to each peer are as large. A peer can be a layer ahead
 * (it sends its next DISPATCH frames once it has this rank's COMBINE frames), and this rank's own
 * COMBINE frames may still be queued when it starts its next layer, so two layers' frames are in
 * flight at most, in each direction:
 *
 * <pre>
 *   phase    = (ranks - 1) × (max(dispatch(capacity), gather(padded)) + combine(padded))
 *   direct   = 2 layers × 2 directions × phase + connections × read buffer
 * </pre>
 *
 * with {@code dispatch(n) = n × (topK × 8 + row)}, {@code gather(n) = n × (topK × 8 + row)}, {@code
 * combine(n) = n × row}, a row {@code hidden} values in the phase's precision (plus a float32 scale
 * for fp8), and a 24-byte header per frame and micro-batch. Large frames arrive in buffers of their
 * own size ({@code FrameDecoder}), so reassembly adds nothing but each connection's read buffer.
 */
public final class StepMemory {
  /** A rank that syncs runs a batch up to this many times its capacity padded. */
  public static final int PADDED_FACTOR = 4;

  /** The largest read buffer a connection holds between frames (the TCP transport's). */
  public static final int READ_BUFFER_BYTES = 64 * 1024;

  /**
   * The largest CONTROL or BULK frame: a weight-migration chunk of 1 MiB and its header. Heat, plan
   * and sync frames are much smaller.
   */
  public static final int BULK_FRAME_BYTES = 1024 * 1024 + FrameHeaderCodec.HEADER_BYTES;

  /** CONTROL and BULK frames one peer may have in flight: lockstep keeps them to a few. */
  private static final int BULK_FRAMES_IN_FLIGHT = 4;

  /** Layers whose frames can be in flight at once: this one and a peer's next. */
  private static final int LAYERS_IN_FLIGHT = 2;

  private StepMemory() {}

  /**
   * The most rows a GATHER or COMBINE frame of this configuration carries. A rank that may skip the
   * DP metadata sync promises batches within its capacity, so nothing is ever padded beyond it; a
   * rank that syncs pads to its largest batch ({@link
   * io.moeflux.pipeline.sync.SyncOptions#maxBatchTokens()}) or {@value #PADDED_FACTOR} × the
   * capacity, whichever is more. A step whose largest batch is over it is refused on every rank.
   */
  public static int maxPaddedTokens(PipelineConfig config) {
    Objects.requireNonNull(config, "config");
    int capacity = config.maxTokensPerRank();
    if (SyncDecision.decide(config.sync(), capacity).skip()) {
      return capacity;
    }
    long padded = Math.max(config.sync().maxBatchTokens(), (long) PADDED_FACTOR * capacity);
    return (int) Math.min(Integer.MAX_VALUE, padded);
  }

  /** The largest DISPATCH frame (header included): the capacity in one frame. */
  public static long dispatchFrameBytes(PipelineConfig config) {
    WireFormat wire = config.wire();
    return FrameHeaderCodec.HEADER_BYTES
        + DispatchFrameCodec.bodyBytes(
            config.maxTokensPerRank(),
            config.model().topK(),
            config.model().hidden(),
            wire.dispatch());
  }

  /**
   * The largest COMBINE frame (header included): in the padded all-gather a rank sends every token
   * of a peer's padded batch back to it.
   */
  public static long combineFrameBytes(PipelineConfig config) {
    return FrameHeaderCodec.HEADER_BYTES
        + CombineFrameCodec.bodyBytes(
            maxPaddedTokens(config), config.model().hidden(), config.wire().combine());
  }

  /** The largest GATHER frame (header included): every padded row with its picks. */
  public static long gatherFrameBytes(PipelineConfig config) {
    int padded = maxPaddedTokens(config);
    return FrameHeaderCodec.HEADER_BYTES
        + GatherFrameCodec.bodyBytes(
            padded,
            padded,
            config.model().topK(),
            config.model().hidden(),
            config.wire().dispatch());
  }

  /**
   * What one peer sends this rank for one layer, at most: its exchange frame and its COMBINE frame,
   * with a header for every micro-batch.
   */
  public static long peerBytesPerLayer(PipelineConfig config) {
    long headers = (long) (microBatches() - 1) * FrameHeaderCodec.HEADER_BYTES;
    return Math.max(dispatchFrameBytes(config), gatherFrameBytes(config))
        + combineFrameBytes(config)
        + 2 * headers;
  }

  /** What one peer sends this rank in one step, at most. */
  public static long peerBytesPerStep(PipelineConfig config) {
    return config.model().layers() * (long) peerBytesPerLayer(config);
  }

  /** What one step's frames from every peer take on a rank of {@code ranks}, at most. */
  public static long receiveBytesPerStep(PipelineConfig config, int ranks) {
    return (ranks - 1) * peerBytesPerStep(config);
  }

  /**
   * The limits a rank of this configuration holds its peers to: frames up to the largest one a step
   * or a migration sends, DATA bodies checked against the model's shape, the capacity and the wire
   * precision, and per peer the frames of {@code stepWindow} + 2 steps plus a few bulk frames.
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

  /**
   * The direct memory one rank of a group of {@code ranks} needs for its data path, at most: two
   * layers' frames in each direction with every peer, and a read buffer per connection (one to and
   * one from every peer).
   */
  public static long directBytesPerRank(PipelineConfig config, int ranks) {
    Objects.requireNonNull(config, "config");
    if (ranks < 1) {
      throw new IllegalArgumentException("ranks must be >= 1, got " + ranks);
    }
    long phase = (ranks - 1) * peerBytesPerLayer(config);
    long connections = 2L * (ranks - 1);
    return LAYERS_IN_FLIGHT * 2 * phase + connections * READ_BUFFER_BYTES;
  }

  /**
   * Heap working memory one rank's layer runner holds, independent of the traffic: the batch's
   * hidden states, outputs and picks, and per micro-batch its own partial sums, what it received
   * and the experts' bounded chunk buffers.
   */
  public static long heapBytesPerRank(PipelineConfig config, int ranks) {
    long tokens = Math.max(config.maxTokensPerRank(), maxPaddedTokens(config));
    int hidden = config.model().hidden();
    int topK = config.model().topK();
    long rows = tokens * hidden * (long) Float.BYTES;
    long batch = 3 * rows + tokens * topK * 8L;
    long received = (long) ranks * tokens * (topK * 8L + 8);
    long chunks = 2L * chunkRows(hidden) * hidden * Float.BYTES;
    return batch + microBatches() * (rows + received + chunks);
  }

  /** Rows of one expert chunk: the layer runner's bound on expert inputs and outputs. */
  public static int chunkRows(int hidden) {
    return Math.max(1, 4 * 1024 * 1024 / (Math.max(1, hidden) * Float.BYTES));
  }

  /** The most micro-batches a step is split into. */
  public static int microBatches() {
    return 2;
  }

  /**
   * Checks that {@code ranksHere} ranks of a group of {@code ranks}, in this JVM, fit the
   * direct-memory limit {@code limit}.
   *
   * @throws PipelineException saying how much they need, how much there is, and what it depends on
   */
  public static void checkFits(PipelineConfig config, int ranks, int ranksHere, long limit) {
    long perRank = directBytesPerRank(config, ranks);
    long needed = perRank * ranksHere;
    if (needed > limit) {
      throw new PipelineException(
          (ranksHere == 1 ? "a rank" : ranksHere + " ranks in this JVM")
              + " of a group of "
              + ranks
              + " need up to "
              + mib(needed)
              + " of direct memory for their frames"
              + (ranksHere == 1 ? "" : " (" + mib(perRank) + " each)")
              + ": capacity "
              + config.maxTokensPerRank()
              + " tokens (padded up to "
              + maxPaddedTokens(config)
              + "), hidden "
              + config.model().hidden()
              + ", top-"
              + config.model().topK()
              + ", wire "
              + config.wire().label()
              + "; the JVM's limit is "
              + mib(limit)
              + " (-XX:MaxDirectMemorySize): raise it, or lower the capacity or the wire precision");
    }
  }

  private static String mib(long bytes) {
    return String.format("%.1f MiB", bytes / (1024.0 * 1024.0));
  }
}
