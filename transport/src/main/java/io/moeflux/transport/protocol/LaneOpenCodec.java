package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The first payload of every lane (request-channel) a rank opens to a peer; frames follow it
 * ({@link #LAYOUT}).
 */
public final class LaneOpenCodec {
  public static final int BYTES = 8;

  /** The payload's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      lane-open payload, 8 bytes, big-endian
      0  int32  source  the opening rank
      4  int32  lane    FrameKind.Lane ordinal
      """;

  private LaneOpenCodec() {}

  public static ByteBuf encode(ByteBufAllocator allocator, int source, FrameKind.Lane lane) {
    return allocator.buffer(BYTES, BYTES).writeInt(source).writeInt(lane.ordinal());
  }

  /**
   * The lane a lane-open payload from {@code source} opens.
   *
   * @throws MalformedFrameException when it is not 8 bytes, names another source, or an unknown
   *     lane
   */
  public static FrameKind.Lane decode(ByteBuf payload, int source) {
    if (payload.readableBytes() != BYTES) {
      throw new MalformedFrameException(
          "a lane-open payload of " + payload.readableBytes() + " bytes, expected " + BYTES);
    }
    int at = payload.readerIndex();
    int claimed = payload.getInt(at);
    int lane = payload.getInt(at + 4);
    if (claimed != source) {
      throw new MalformedFrameException("a lane-open payload claiming source " + claimed);
    }
    if (!FrameKind.Lane.isKnown(lane)) {
      throw new MalformedFrameException("a lane-open payload for unknown lane " + lane);
    }
    return FrameKind.Lane.of(lane);
  }
}
