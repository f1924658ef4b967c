package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.time.Duration;

/**
 * A {@code moe.forward} request's deadline: an entry of the request payload's composite metadata,
 * of MIME type {@link #MIME_TYPE} ({@link #LAYOUT}). It is relative (how long the request may wait
 * from when the server reads it), so that client and server clocks need not agree. A request whose
 * deadline passes before a step answers it is refused, and leaves the queue if it still waits.
 */
public final class ForwardDeadlineCodec {
  /** The MIME type of the metadata entry. */
  public static final String MIME_TYPE = "message/x.moeflux.deadline.v0";

  /** The longest deadline a request may carry: an hour. */
  public static final long MAX_MILLIS = 3_600_000;

  /** The entry's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      moe.forward deadline metadata, 8 bytes, big-endian
      0  int64  millis  how long the request may wait for its answer, from its arrival; 1 to 3600000
      """;

  private static final int BYTES = Long.BYTES;

  private ForwardDeadlineCodec() {}

  /**
   * The entry's content for {@code deadline}, whole milliseconds.
   *
   * @throws IllegalArgumentException when it is not 1 ms to {@link #MAX_MILLIS} ms
   */
  public static ByteBuf encode(ByteBufAllocator allocator, Duration deadline) {
    long millis = deadline.toMillis();
    check(millis);
    return allocator.buffer(BYTES).writeLong(millis);
  }

  /**
   * The deadline an entry's content carries.
   *
   * @throws IllegalArgumentException when it is not 8 bytes, or not 1 ms to {@link #MAX_MILLIS}
   */
  public static Duration decode(ByteBuf content) {
    if (content.readableBytes() != BYTES) {
      throw new IllegalArgumentException(
          "a deadline entry ("
              + MIME_TYPE
              + ") is 8 bytes, an int64 of milliseconds; got "
              + content.readableBytes()
              + " bytes");
    }
    long millis = content.getLong(content.readerIndex());
    check(millis);
    return Duration.ofMillis(millis);
  }

  private static void check(long millis) {
    if (millis < 1 || millis > MAX_MILLIS) {
      throw new IllegalArgumentException(
          "a deadline must be 1 to " + MAX_MILLIS + " ms, got " + millis + " ms");
    }
  }
}
