package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Little-endian float views over frame bodies, so that hidden vectors move with bulk copies. One
 * view per frame, never one per token.
 */
public final class FloatViews {
  /** The view of an empty body; it has no room, so sharing it is safe. */
  private static final FloatBuffer EMPTY = FloatBuffer.allocate(0);

  private FloatViews() {}

  /** A view of {@code floats} floats starting at absolute byte {@code index} of {@code buf}. */
  public static FloatBuffer of(ByteBuf buf, int index, int floats) {
    if (floats == 0) {
      return EMPTY;
    }
    if (buf.nioBufferCount() != 1) {
      // A body split over several components is read through one merged copy; frames we
      // allocate ourselves are always a single component.
      ByteBuf copy = buf.alloc().heapBuffer(floats * Float.BYTES);
      try {
        copy.writeBytes(buf, index, floats * Float.BYTES);
        float[] merged = new float[floats];
        copy.nioBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(merged);
        return FloatBuffer.wrap(merged);
      } finally {
        copy.release();
      }
    }
    return buf.nioBuffer(index, floats * Float.BYTES)
        .order(ByteOrder.LITTLE_ENDIAN)
        .asFloatBuffer();
  }
}
