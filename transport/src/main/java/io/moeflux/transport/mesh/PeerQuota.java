package io.moeflux.transport.mesh;

import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.protocol.FrameKind;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What the {@link Inbox} holds for each peer: frame bytes, and CONTROL or BULK phases. A frame is
 * counted when it is held and uncounted when its phase is handed over or dropped, so the counts are
 * what one peer can make this rank keep in memory.
 */
final class PeerQuota {
  private final InboundLimits limits;
  private final AtomicLongArray bytes;
  private final AtomicIntegerArray phases;

  PeerQuota(int worldSize, InboundLimits limits) {
    this.limits = limits;
    this.bytes = new AtomicLongArray(worldSize);
    this.phases = new AtomicIntegerArray(worldSize);
  }

  /** Why holding {@code size} more bytes of a {@code kind} frame from {@code source} is refused. */
  String refusal(int source, FrameKind kind, int size) {
    if (bytes.get(source) + size > limits.maxBytesPerPeer()) {
      return "frames that would make this rank hold more than "
          + limits.maxBytesPerPeer()
          + " bytes for it";
    }
    if (kind.lane() != FrameKind.Lane.DATA && phases.get(source) >= limits.maxHeldPhases()) {
      return "a " + kind + " frame while " + limits.maxHeldPhases() + " of its phases are held";
    }
    return null;
  }

  void held(int source, FrameKind kind, int size) {
    bytes.addAndGet(source, size);
    if (kind.lane() != FrameKind.Lane.DATA) {
      phases.incrementAndGet(source);
    }
  }

  void released(int source, FrameKind kind, int size) {
    bytes.addAndGet(source, -size);
    if (kind.lane() != FrameKind.Lane.DATA) {
      phases.decrementAndGet(source);
    }
  }

  /** Bytes held for {@code source} now. */
  long bytes(int source) {
    return bytes.get(source);
  }
}
