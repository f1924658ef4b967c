package io.moeflux.transport.tcp;

import io.netty.buffer.ByteBuf;
import io.rsocket.frame.FrameHeaderCodec;
import io.rsocket.frame.FrameType;

/**
 * What the {@link FrameDecoder} reads of an RSocket frame (its bytes after the 3-byte length):
 * which stream it belongs to, whether more fragments follow, and where a mesh frame starts in it.
 */
final class RSocketFrames {
  /** Bytes of the RSocket frame header: stream id, type and flags. */
  static final int HEADER_BYTES = FrameHeaderCodec.size();

  private RSocketFrames() {}

  static int stream(ByteBuf frame) {
    return FrameHeaderCodec.streamId(frame);
  }

  static boolean follows(ByteBuf frame) {
    return FrameHeaderCodec.hasFollows(frame);
  }

  /**
   * Whether the frame is a payload on a stream with data and no metadata: how every mesh frame
   * travels on its lane, its bytes starting right after {@link #HEADER_BYTES}.
   */
  static boolean carriesMeshFrame(ByteBuf frame) {
    FrameType type = FrameHeaderCodec.frameType(frame);
    return (type == FrameType.NEXT || type == FrameType.NEXT_COMPLETE)
        && !FrameHeaderCodec.hasMetadata(frame);
  }
}
