package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The third step of the handshake: the connecting rank proves the secret over the accepting rank's
 * nonce ({@link HandshakeProofs#connectingProof}) and, now that both sides are proven, says what it
 * runs (a {@link HandshakeCodec} handshake, {@link #LAYOUT}). The accepting rank answers with its
 * own handshake, or refuses without a reason.
 */
public final class ProofCodec {
  /** The proof request's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      proof request, big-endian
      0   int32      request  2: a proof
      4   8 × int32  tag      the connecting rank's group tag (HMAC-SHA256, 32 bytes)
      36  8 × int32  proof    its proof over the accepting rank's nonce (HMAC-SHA256)
      68  int32      version  then its handshake, as HandshakeCodec lays it out
      72  int32      rank
      76  int32      world
      80  int32      entries
      84  entries × (int32 keyBytes, keyBytes utf8 key, int32 valueBytes, valueBytes utf8 value)
      """;

  /** Which handshake request this is. */
  public static final int REQUEST = 2;

  private static final int FIXED_BYTES = Integer.BYTES + 2 * HandshakeProofs.MAC_BYTES;

  private ProofCodec() {}

  /** The connecting rank's proof and what it runs. */
  public record Proof(byte[] groupTag, byte[] proof, Handshake handshake) {}

  public static ByteBuf encode(
      ByteBufAllocator allocator, byte[] groupTag, byte[] proof, Handshake handshake) {
    HandshakeProofs.checkLength("group tag", groupTag, HandshakeProofs.MAC_BYTES);
    HandshakeProofs.checkLength("proof", proof, HandshakeProofs.MAC_BYTES);
    ByteBuf handshakeBytes = HandshakeCodec.encode(allocator, handshake);
    try {
      ByteBuf out = allocator.buffer(FIXED_BYTES + handshakeBytes.readableBytes());
      return out.writeInt(REQUEST)
          .writeBytes(groupTag)
          .writeBytes(proof)
          .writeBytes(handshakeBytes);
    } finally {
      handshakeBytes.release();
    }
  }

  /** Whether {@code data} starts like a proof request. */
  public static boolean isRequest(ByteBuf data) {
    return data.readableBytes() >= FIXED_BYTES && data.getInt(data.readerIndex()) == REQUEST;
  }

  /**
   * Reads a proof request without moving the reader index.
   *
   * @throws MalformedFrameException when it is not a proof request or its handshake is malformed
   */
  public static Proof decode(ByteBuf data) {
    if (!isRequest(data)) {
      throw new MalformedFrameException("not a proof request: " + data.readableBytes() + " bytes");
    }
    int at = data.readerIndex();
    byte[] tag = new byte[HandshakeProofs.MAC_BYTES];
    byte[] proof = new byte[HandshakeProofs.MAC_BYTES];
    data.getBytes(at + Integer.BYTES, tag);
    data.getBytes(at + Integer.BYTES + tag.length, proof);
    Handshake handshake =
        HandshakeCodec.decode(data.slice(at + FIXED_BYTES, data.readableBytes() - FIXED_BYTES));
    return new Proof(tag, proof, handshake);
  }
}
