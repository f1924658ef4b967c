package io.moeflux.transport.protocol;

import io.moeflux.transport.MeshFingerprint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * What a rank runs, sent only once both sides have proven the group's secret: inside the proof
 * request ({@link ProofCodec}, connecting to accepting rank) and as its answer (back), so both
 * sides check the other and say what differs ({@link #LAYOUT}).
 *
 * <p>A handshake of another version decodes to its version, rank and world size with an empty
 * fingerprint, and {@link Handshake#mismatch} refuses it on the version (the SETUP payload, {@link
 * SetupCodec}, refuses another version before this is ever sent).
 */
public final class HandshakeCodec {
  /** The handshake's layout. The README's wire-format section shows it verbatim. */
  public static final String LAYOUT =
      """
      handshake, big-endian
      0   int32  version    ProtocolVersion.CURRENT; version, rank, world keep these offsets forever
      4   int32  rank       the sender's rank
      8   int32  world      the sender's world size
      12  int32  entries    fingerprint entries, at most 64
      16  entries × (int32 keyBytes, keyBytes utf8 key, int32 valueBytes, valueBytes utf8 value)
      """;

  private static final int FIXED_BYTES = 16;
  private static final int STABLE_BYTES = 12;

  private HandshakeCodec() {}

  public static ByteBuf encode(ByteBufAllocator allocator, Handshake handshake) {
    ByteBuf out = allocator.buffer();
    out.writeInt(handshake.version())
        .writeInt(handshake.rank())
        .writeInt(handshake.worldSize())
        .writeInt(handshake.fingerprint().entries().size());
    handshake
        .fingerprint()
        .entries()
        .forEach(
            (key, value) -> {
              writeText(out, key);
              writeText(out, value);
            });
    return out;
  }

  /**
   * Reads a handshake without moving {@code data}'s reader index.
   *
   * @throws MalformedFrameException naming what is out of bounds or missing
   */
  public static Handshake decode(ByteBuf data) {
    if (data.readableBytes() < STABLE_BYTES) {
      throw new MalformedFrameException("malformed handshake: " + data.readableBytes() + " bytes");
    }
    int at = data.readerIndex();
    int end = data.writerIndex();
    int version = data.getInt(at);
    int rank = data.getInt(at + 4);
    int world = data.getInt(at + 8);
    if (version != ProtocolVersion.CURRENT) {
      return new Handshake(version, rank, world, MeshFingerprint.EMPTY);
    }
    if (data.readableBytes() < FIXED_BYTES) {
      throw new MalformedFrameException("malformed handshake: " + data.readableBytes() + " bytes");
    }
    int entries = data.getInt(at + 12);
    if (entries < 0 || entries > MeshFingerprint.MAX_ENTRIES) {
      throw new MalformedFrameException(
          "malformed handshake: "
              + entries
              + " fingerprint entries, at most "
              + MeshFingerprint.MAX_ENTRIES);
    }
    MeshFingerprint.Builder fingerprint = MeshFingerprint.builder();
    int[] cursor = {at + FIXED_BYTES};
    for (int i = 0; i < entries; i++) {
      String key = readText(data, cursor, end, "key", MeshFingerprint.MAX_KEY_BYTES);
      String value = readText(data, cursor, end, "value", MeshFingerprint.MAX_VALUE_BYTES);
      try {
        fingerprint.put(key, value);
      } catch (IllegalArgumentException e) {
        throw new MalformedFrameException("malformed handshake: " + e.getMessage());
      }
    }
    if (cursor[0] != end) {
      throw new MalformedFrameException(
          "malformed handshake: " + (end - cursor[0]) + " bytes after the last entry");
    }
    return new Handshake(version, rank, world, fingerprint.build());
  }

  private static void writeText(ByteBuf out, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length).writeBytes(bytes);
  }

  private static String readText(ByteBuf data, int[] cursor, int end, String what, int max) {
    int at = cursor[0];
    if (end - at < Integer.BYTES) {
      throw new MalformedFrameException("malformed handshake: a fingerprint " + what + " is cut");
    }
    int length = data.getInt(at);
    if (length < 0 || length > max || length > end - at - Integer.BYTES) {
      throw new MalformedFrameException(
          "malformed handshake: a fingerprint "
              + what
              + " of "
              + length
              + " bytes (limit "
              + max
              + ", "
              + (end - at - Integer.BYTES)
              + " left)");
    }
    cursor[0] = at + Integer.BYTES + length;
    return data.toString(at + Integer.BYTES, length, StandardCharsets.UTF_8);
  }
}
