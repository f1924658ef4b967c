package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A FAILURE frame: the sender's mesh failed, and this is why ({@link #LAYOUT}; the header's step is
 * -1, its layer -1). A rank sends it to every peer before it closes, so that a peer that has not
 * seen the cause yet (a lost rank its keep-alive has not timed out on) names the cause, not the
 * sender, when the sender's connections close.
 */
public final class FailureFrameCodec {
  /** The body's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      FAILURE body, UTF-8, count = bytes
      count  utf8  reason  why the sender's mesh failed, at most 4096 bytes
      """;

  private FailureFrameCodec() {}

  public static ByteBuf encode(ByteBufAllocator allocator, int source, String reason) {
    return ReasonText.encode(allocator, FrameKind.FAILURE, -1, source, reason);
  }

  /**
   * The reason a FAILURE frame carries.
   *
   * @throws MalformedFrameException when the frame is not a FAILURE frame, or its count is not its
   *     body length, or the reason is over 4096 bytes
   */
  public static String reason(ByteBuf frame) {
    return ReasonText.decode(frame, FrameKind.FAILURE);
  }
}
