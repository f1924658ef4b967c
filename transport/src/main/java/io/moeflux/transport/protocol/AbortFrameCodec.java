package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * An ABORT frame: the sender gives up a step, and says why ({@link #LAYOUT}; the header's step is
 * the aborted step, its layer -1).
 */
public final class AbortFrameCodec {
  /** Longer reasons are cut (on a character boundary) when encoded, refused when decoded. */
  public static final int MAX_REASON_BYTES = 4096;

  /** The body's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      ABORT body, UTF-8, count = bytes
      count  utf8  reason  why the sender gave up the step, at most 4096 bytes
      """;

  private AbortFrameCodec() {}

  public static ByteBuf encode(ByteBufAllocator allocator, long step, int source, String reason) {
    byte[] text = reason.getBytes(StandardCharsets.UTF_8);
    int length = text.length;
    if (length > MAX_REASON_BYTES) {
      length = MAX_REASON_BYTES;
      // back up to the first byte of a character: UTF-8 continuation bytes are 10xxxxxx
      while (length > 0 && (text[length] & 0xC0) == 0x80) {
        length--;
      }
    }
    ByteBuf frame =
        FrameHeaderCodec.allocate(allocator, FrameKind.ABORT, step, -1, source, length, length);
    frame.writeBytes(text, 0, length);
    return frame;
  }

  /**
   * The reason an ABORT frame carries.
   *
   * @throws MalformedFrameException when the frame is not an ABORT frame, or its count is not its
   *     body length, or the reason is over {@link #MAX_REASON_BYTES}
   */
  public static String reason(ByteBuf frame) {
    FrameHeaderCodec.requireHeader(frame);
    int length = FrameHeaderCodec.count(frame);
    if (length > MAX_REASON_BYTES) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame)
              + " has a reason over the "
              + MAX_REASON_BYTES
              + "-byte limit");
    }
    FrameHeaderCodec.expectBody(frame, FrameKind.ABORT, length, "its reason");
    return frame.toString(FrameHeaderCodec.bodyIndex(frame), length, StandardCharsets.UTF_8);
  }
}
