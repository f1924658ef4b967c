package io.moeflux.cli.fuzz;

import io.moeflux.transport.protocol.ChallengeCodec;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.HandshakeProofs;
import io.moeflux.transport.protocol.LaneOpenCodec;
import io.moeflux.transport.protocol.SetupCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.rsocket.frame.PayloadFrameCodec;
import io.rsocket.frame.RequestChannelFrameCodec;
import io.rsocket.frame.RequestResponseFrameCodec;
import io.rsocket.frame.SetupFrameCodec;
import io.rsocket.util.ByteBufPayload;
import java.util.ArrayList;
import java.util.List;

/**
 * RSocket frames as a mesh stranger sends them over TCP, without a 3-byte length prefix: a SETUP
 * carrying a moeflux SETUP payload, the handshake requests, lanes with mesh frames. The seeds the
 * mesh target's inputs are mutated from.
 */
final class RSocketFrames {
  private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

  private RSocketFrames() {}

  /** A valid RSocket SETUP frame claiming {@code rank}, with a fresh nonce. */
  static byte[] setup(int rank) {
    return Mutator.bytes(setupFrame(SetupCodec.encode(ALLOC, rank, HandshakeProofs.nonce())));
  }

  /** A SETUP frame whose payload is {@code size} bytes of zeros: what --huge-mib sends. */
  static ByteBuf hugeSetup(int size) {
    return setupFrame(Unpooled.wrappedBuffer(new byte[size]));
  }

  private static ByteBuf setupFrame(ByteBuf payload) {
    return SetupFrameCodec.encode(
        ALLOC,
        false,
        1000,
        6000,
        "application/binary",
        "application/binary",
        ByteBufPayload.create(payload));
  }

  /** Frames that follow a SETUP: requests and lanes, as a rank would send them. */
  static List<byte[]> afterSetup() {
    List<byte[]> frames = new ArrayList<>();
    frames.add(
        Mutator.bytes(
            RequestResponseFrameCodec.encode(
                ALLOC, 1, false, null, ChallengeCodec.encodeRequest(ALLOC))));
    frames.add(
        Mutator.bytes(
            RequestChannelFrameCodec.encode(
                ALLOC,
                3,
                false,
                false,
                Long.MAX_VALUE,
                null,
                LaneOpenCodec.encode(ALLOC, 1, FrameKind.Lane.DATA))));
    ByteBuf dispatch = FrameHeaderCodec.allocate(ALLOC, FrameKind.DISPATCH, 0, 0, 1, 43, 172);
    dispatch.writeZero(172);
    frames.add(
        Mutator.bytes(PayloadFrameCodec.encode(ALLOC, 3, false, false, true, null, dispatch)));
    return frames;
  }

  /** {@code frame} with its 3-byte length prefix, as it travels over TCP. */
  static byte[] prefixed(byte[] frame) {
    byte[] out = new byte[frame.length + 3];
    out[0] = (byte) (frame.length >>> 16);
    out[1] = (byte) (frame.length >>> 8);
    out[2] = (byte) frame.length;
    System.arraycopy(frame, 0, out, 3, frame.length);
    return out;
  }
}
