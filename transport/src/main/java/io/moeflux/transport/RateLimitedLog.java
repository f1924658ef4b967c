package io.moeflux.transport;

import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;

/**
 * WARN lines that a peer or a client can provoke (a refused connection, a malformed request), at
 * most {@code lines} per {@code interval}: a flood of bad input must not become a flood of log.
 * Lines over the limit are counted, and the count is logged when the next interval starts.
 */
public final class RateLimitedLog {
  private final Logger logger;
  private final int lines;
  private final long intervalNanos;
  private long windowStart;
  private int inWindow;
  private long suppressed;

  /** At most {@code lines} WARN lines to {@code logger} per {@code interval}. */
  public RateLimitedLog(Logger logger, int lines, Duration interval) {
    this.logger = Objects.requireNonNull(logger, "logger");
    if (lines < 1) {
      throw new IllegalArgumentException("lines must be >= 1, got " + lines);
    }
    this.lines = lines;
    this.intervalNanos = interval.toNanos();
    this.windowStart = System.nanoTime() - intervalNanos;
  }

  /** Logs {@code message} at WARN unless this interval's lines are used up. */
  public void warn(String message) {
    long dropped = 0;
    boolean log;
    synchronized (this) {
      long now = System.nanoTime();
      if (now - windowStart >= intervalNanos) {
        dropped = suppressed;
        suppressed = 0;
        windowStart = now;
        inWindow = 0;
      }
      log = inWindow < lines;
      if (log) {
        inWindow++;
      } else {
        suppressed++;
      }
    }
    if (dropped > 0) {
      logger.warn("{} more such lines were not logged", dropped);
    }
    if (log) {
      logger.warn(message);
    }
  }
}
