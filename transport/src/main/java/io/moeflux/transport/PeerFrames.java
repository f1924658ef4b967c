package io.moeflux.transport;

import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import org.jspecify.annotations.Nullable;

/**
 * One frame from every peer for one (kind, step, layer): what a collective phase received. The
 * holder owns the frames and must call {@link #release()} exactly once when done with them.
 */
public final class PeerFrames {
  private final int self;
  private final @Nullable ByteBuf[] frames;
  private boolean released;

  /**
   * {@code frames[source]} is {@code source}'s frame, {@code frames[self]} null; ownership moves
   * in.
   */
  public PeerFrames(int self, @Nullable ByteBuf[] frames) {
    this.self = self;
    this.frames = frames;
  }

  public int worldSize() {
    return frames.length;
  }

  /** The frame received from {@code source}, or {@code null} for this rank itself. */
  public @Nullable ByteBuf frame(int source) {
    checkLive();
    return frames[source];
  }

  /** The count field of the frame from {@code source}; 0 for this rank itself. */
  public int count(int source) {
    checkLive();
    ByteBuf frame = frames[source];
    return source == self || frame == null ? 0 : FrameHeaderCodec.count(frame);
  }

  /** Releases every frame. Calling it again does nothing. */
  public void release() {
    if (released) {
      return;
    }
    released = true;
    for (int i = 0; i < frames.length; i++) {
      ByteBuf frame = frames[i];
      if (frame != null) {
        ReferenceCountUtil.safeRelease(frame);
        frames[i] = null;
      }
    }
  }

  private void checkLive() {
    if (released) {
      throw new IllegalStateException("frames already released");
    }
  }
}
