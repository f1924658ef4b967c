package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/** A frame whose body is a reason in UTF-8: ABORT and FAILURE. */
final class ReasonText {
  /** Longer reasons are cut (on a character boundary) when encoded, refused when decoded. */
  static final int MAX_BYTES = 4096;

  private ReasonText() {}

  static ByteBuf encode(
      ByteBufAllocator allocator, FrameKind kind, long step, int source, String reason) {
    byte[] text = reason.getBytes(StandardCharsets.UTF_8);
    int length = text.length;
    if (length > MAX_BYTES) {
      length = MAX_BYTES;
      // back up to the first byte of a character: UTF-8 continuation bytes are 10xxxxxx
      while (length > 0 && (text[length] & 0xC0) == 0x80) {
        length--;
      }
    }
    ByteBuf frame = FrameHeaderCodec.allocate(allocator, kind, step, -1, source, length, length);
    frame.writeBytes(text, 0, length);
    return frame;
  }

  static String decode(ByteBuf frame, FrameKind kind) {
    FrameHeaderCodec.requireHeader(frame);
    int length = FrameHeaderCodec.count(frame);
    if (length > MAX_BYTES) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame) + " has a reason over the " + MAX_BYTES + "-byte limit");
    }
    FrameHeaderCodec.expectBody(frame, kind, length, "its reason");
    return frame.toString(FrameHeaderCodec.bodyIndex(frame), length, StandardCharsets.UTF_8);
  }
}
