package io.moeflux.transport;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;

/**
 * One frame from every peer for one (kind, step, layer): what a collective phase received. The
 * holder owns the frames and must call {@link #release()} exactly once when done with them.
 */
public final class PeerFrames {
  private final int self;
  private final ByteBuf[] frames;
  private boolean released;

  public PeerFrames(int self, ByteBuf[] frames) {
    this.self = self;
    this.frames = frames;
  }

  public int worldSize() {
    return frames.length;
  }

  /** The frame received from {@code source}, or {@code null} for this rank itself. */
  public ByteBuf frame(int source) {
    checkLive();
    return frames[source];
  }

  /** The count field of the frame from {@code source}; 0 for this rank itself. */
  public int count(int source) {
    checkLive();
    return source == self ? 0 : FrameCodec.count(frames[source]);
  }

  /** Releases every frame. Calling it again does nothing. */
  public void release() {
    if (released) {
      return;
    }
    released = true;
    for (int i = 0; i < frames.length; i++) {
      if (frames[i] != null) {
        ReferenceCountUtil.safeRelease(frames[i]);
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
