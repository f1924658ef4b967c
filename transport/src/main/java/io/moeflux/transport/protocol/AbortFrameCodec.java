package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * An ABORT frame: the sender gives up a step, and says why ({@link #LAYOUT}; the header's step is
 * the aborted step, its layer -1).
 */
public final class AbortFrameCodec {
  /** Longer reasons are cut (on a character boundary) when encoded, refused when decoded. */
  public static final int MAX_REASON_BYTES = ReasonText.MAX_BYTES;

  /** The body's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      ABORT body, UTF-8, count = bytes
      count  utf8  reason  why the sender gave up the step, at most 4096 bytes
      """;

  private AbortFrameCodec() {}

  public static ByteBuf encode(ByteBufAllocator allocator, long step, int source, String reason) {
    return ReasonText.encode(allocator, FrameKind.ABORT, step, source, reason);
  }

  /**
   * The reason an ABORT frame carries.
   *
   * @throws MalformedFrameException when the frame is not an ABORT frame, or its count is not its
   *     body length, or the reason is over {@link #MAX_REASON_BYTES}
   */
  public static String reason(ByteBuf frame) {
    return ReasonText.decode(frame, FrameKind.ABORT);
  }
}
