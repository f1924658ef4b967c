package io.moeflux.pipeline.dispatch;

import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.FloatBuffer;

/**
 * The body of a COMBINE frame: one gate-weighted partial sum ({@code hidden} floats) per token the
 * destination received from this frame's target, in the order the tokens were dispatched.
 */
public final class CombineFrameCodec {
  private CombineFrameCodec() {}

  public static ByteBuf allocate(
      ByteBufAllocator alloc, long step, int layer, int source, int count, int hidden) {
    return FrameHeaderCodec.allocate(
        alloc, FrameKind.COMBINE, step, layer, source, count, count * hidden * Float.BYTES);
  }

  public static FloatBuffer partials(ByteBuf frame, int count, int hidden) {
    return FloatViews.of(frame, FrameHeaderCodec.bodyIndex(frame), count * hidden);
  }

  public static void finish(ByteBuf frame, int count, int hidden) {
    frame.writerIndex(FrameHeaderCodec.HEADER_BYTES + count * hidden * Float.BYTES);
  }
}
