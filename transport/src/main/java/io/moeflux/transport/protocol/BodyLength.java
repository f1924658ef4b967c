package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;

/** The check every body codec makes on a received frame: its body is as long as its header says. */
final class BodyLength {
  private BodyLength() {}

  /** Whether the body of {@code frame} is {@code expected} bytes long. */
  static boolean is(ByteBuf frame, long expected) {
    return FrameHeaderCodec.bodyLength(frame) == expected;
  }

  /**
   * The error for a body that is not {@code expected} bytes; {@code implied} says what implies that
   * length, e.g. {@code "count 1 × hidden 4"}. Built only on failure: checks run on every frame.
   */
  static MalformedFrameException mismatch(ByteBuf frame, long expected, String implied) {
    return new MalformedFrameException(
        FrameHeaderCodec.describe(frame)
            + ": body is "
            + FrameHeaderCodec.bodyLength(frame)
            + " bytes but "
            + implied
            + " implies "
            + expected);
  }

  /** Fails when the header is not whole, or its count is negative. */
  static int requireCount(ByteBuf frame) {
    FrameHeaderCodec.requireHeader(frame);
    int count = FrameHeaderCodec.count(frame);
    if (count < 0) {
      throw new MalformedFrameException(
          FrameHeaderCodec.describe(frame) + ": count must be >= 0, got " + count);
    }
    return count;
  }
}
