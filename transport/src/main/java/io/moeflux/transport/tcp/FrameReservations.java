package io.moeflux.transport.tcp;

import io.moeflux.transport.DirectMemory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of incoming frames that have a whole buffer before their bytes have arrived, shared by
 * every connection of the JVM. A {@link FrameDecoder} gives a large frame its whole buffer as soon
 * as the frame's length is known, so that the socket can read into it; without a bound, anyone who
 * reaches the port (before any secret is proven) could send the lengths of many 16 MiB frames and
 * nothing more, and hold that much memory per connection. Beyond the budget a frame's buffer grows
 * with the bytes that arrive instead, at the cost of the copies a growing buffer makes.
 */
final class FrameReservations {
  /** A quarter of the direct-memory limit, at most 256 MiB: a group's own frames fit easily. */
  static final FrameReservations SHARED =
      new FrameReservations(Math.min(256L << 20, DirectMemory.limit() / 4));

  private final long budget;
  private final AtomicLong reserved = new AtomicLong();

  FrameReservations(long budget) {
    this.budget = budget;
  }

  /** Reserves {@code bytes} if they fit in the budget; true when they were reserved. */
  boolean tryReserve(long bytes) {
    while (true) {
      long now = reserved.get();
      if (now + bytes > budget) {
        return false;
      }
      if (reserved.compareAndSet(now, now + bytes)) {
        return true;
      }
    }
  }

  /** Gives back bytes reserved before. */
  void release(long bytes) {
    reserved.addAndGet(-bytes);
  }

  /** Bytes reserved now. */
  long reserved() {
    return reserved.get();
  }
}
