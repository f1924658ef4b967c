package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The second step of the handshake: the connecting rank asks for a challenge ({@link
 * #REQUEST_LAYOUT}), and the accepting rank answers with its own nonce and its proof ({@link
 * HandshakeProofs#acceptingProof}) over the connecting rank's nonce ({@link #ANSWER_LAYOUT}).
 */
public final class ChallengeCodec {
  /** The request's layout. The README's wire-format section shows it verbatim. */
  public static final String REQUEST_LAYOUT =
      """
      challenge request, 4 bytes, big-endian
      0  int32  request  1: a challenge
      """;

  /** The answer's layout. The README's wire-format section shows it verbatim. */
  public static final String ANSWER_LAYOUT =
      """
      challenge answer, 96 bytes, big-endian
      0   8 × int32  nonce  the accepting rank's nonce, 32 random bytes
      32  8 × int32  tag    its group tag (HMAC-SHA256, 32 bytes)
      64  8 × int32  proof  its proof over the connecting rank's nonce (HMAC-SHA256)
      """;

  /** The request's only field: which handshake request this is. */
  public static final int REQUEST = 1;

  public static final int REQUEST_BYTES = Integer.BYTES;
  public static final int ANSWER_BYTES =
      HandshakeProofs.NONCE_BYTES + 2 * HandshakeProofs.MAC_BYTES;

  private ChallengeCodec() {}

  /** The accepting rank's answer. */
  public record Challenge(byte[] nonce, byte[] groupTag, byte[] proof) {}

  public static ByteBuf encodeRequest(ByteBufAllocator allocator) {
    return allocator.buffer(REQUEST_BYTES, REQUEST_BYTES).writeInt(REQUEST);
  }

  /** Whether {@code data} is a challenge request. */
  public static boolean isRequest(ByteBuf data) {
    return data.readableBytes() == REQUEST_BYTES && data.getInt(data.readerIndex()) == REQUEST;
  }

  public static ByteBuf encodeAnswer(
      ByteBufAllocator allocator, byte[] nonce, byte[] groupTag, byte[] proof) {
    HandshakeProofs.checkLength("nonce", nonce, HandshakeProofs.NONCE_BYTES);
    HandshakeProofs.checkLength("group tag", groupTag, HandshakeProofs.MAC_BYTES);
    HandshakeProofs.checkLength("proof", proof, HandshakeProofs.MAC_BYTES);
    return allocator
        .buffer(ANSWER_BYTES, ANSWER_BYTES)
        .writeBytes(nonce)
        .writeBytes(groupTag)
        .writeBytes(proof);
  }

  /**
   * Reads an answer without moving the reader index.
   *
   * @throws MalformedFrameException when it is not {@link #ANSWER_BYTES} long
   */
  public static Challenge decodeAnswer(ByteBuf data) {
    if (data.readableBytes() != ANSWER_BYTES) {
      throw new MalformedFrameException(
          "a challenge of " + data.readableBytes() + " bytes, expected " + ANSWER_BYTES);
    }
    int at = data.readerIndex();
    byte[] nonce = new byte[HandshakeProofs.NONCE_BYTES];
    byte[] tag = new byte[HandshakeProofs.MAC_BYTES];
    byte[] proof = new byte[HandshakeProofs.MAC_BYTES];
    data.getBytes(at, nonce);
    data.getBytes(at + nonce.length, tag);
    data.getBytes(at + nonce.length + tag.length, proof);
    return new Challenge(nonce, tag, proof);
  }
}
