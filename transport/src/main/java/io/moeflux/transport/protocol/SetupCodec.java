package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The SETUP payload a rank sends when it connects to a peer: the first step of the mutual
 * challenge-response ({@link HandshakeProofs}, {@link #LAYOUT}). It carries nothing secret and
 * nothing the peer could learn the group from. The version stays at offset 0 in every version, so
 * that a rank can always tell which version a peer speaks and refuse another one.
 */
public final class SetupCodec {
  /** The SETUP payload's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      SETUP payload, 40 bytes, big-endian
      0  int32      version  ProtocolVersion.CURRENT; at offset 0 in every version
      4  int32      rank     the rank the connecting side claims
      8  8 × int32  nonce    32 random bytes, fresh for this connection
      """;

  public static final int BYTES = 8 + HandshakeProofs.NONCE_BYTES;

  private SetupCodec() {}

  /** What a SETUP payload says; the nonce is empty when the version is not this build's. */
  public record Setup(int version, int rank, byte[] nonce) {}

  public static ByteBuf encode(ByteBufAllocator allocator, int rank, byte[] nonce) {
    HandshakeProofs.checkLength("nonce", nonce, HandshakeProofs.NONCE_BYTES);
    return allocator
        .buffer(BYTES, BYTES)
        .writeInt(ProtocolVersion.CURRENT)
        .writeInt(rank)
        .writeBytes(nonce);
  }

  /**
   * Reads a SETUP payload without moving the reader index.
   *
   * @throws MalformedFrameException when it is too short to say its version, or of this version and
   *     not exactly {@link #BYTES} long
   */
  public static Setup decode(ByteBuf data) {
    int readable = data.readableBytes();
    if (readable < Integer.BYTES) {
      throw new MalformedFrameException("a SETUP payload of " + readable + " bytes");
    }
    int at = data.readerIndex();
    int version = data.getInt(at);
    if (version != ProtocolVersion.CURRENT) {
      return new Setup(version, -1, new byte[0]);
    }
    if (readable != BYTES) {
      throw new MalformedFrameException(
          "a SETUP payload of " + readable + " bytes, expected " + BYTES);
    }
    byte[] nonce = new byte[HandshakeProofs.NONCE_BYTES];
    data.getBytes(at + 8, nonce);
    return new Setup(version, data.getInt(at + 4), nonce);
  }
}
