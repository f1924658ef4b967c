package io.moeflux.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * What two ranks tell each other before any frame: protocol version, rank, world size and the model
 * fingerprint. Sent as the SETUP payload (client to server) and as the answer to the hello request
 * (server to client), so both sides check the other.
 */
record Handshake(int version, int rank, int worldSize, String fingerprint) {

  static Handshake of(MeshConfig config) {
    return new Handshake(
        MeshConfig.PROTOCOL_VERSION, config.rank(), config.worldSize(), config.fingerprint());
  }

  ByteBuf encode(ByteBufAllocator alloc) {
    byte[] text = fingerprint.getBytes(StandardCharsets.UTF_8);
    return alloc
        .buffer(16 + text.length)
        .writeInt(version)
        .writeInt(rank)
        .writeInt(worldSize)
        .writeInt(text.length)
        .writeBytes(text);
  }

  static Handshake decode(ByteBuf data) {
    if (data.readableBytes() < 16) {
      throw new MeshException("malformed handshake: " + data.readableBytes() + " bytes");
    }
    int at = data.readerIndex();
    int version = data.getInt(at);
    int rank = data.getInt(at + 4);
    int world = data.getInt(at + 8);
    int length = data.getInt(at + 12);
    if (length < 0 || data.readableBytes() != 16 + length) {
      throw new MeshException("malformed handshake: fingerprint of " + length + " bytes");
    }
    return new Handshake(
        version, rank, world, data.toString(at + 16, length, StandardCharsets.UTF_8));
  }

  /**
   * What differs between this side ({@code here}) and the other ({@code there}), or null when they
   * may talk.
   */
  static String mismatch(Handshake here, Handshake there) {
    if (here.version != there.version) {
      return "protocol version differs: " + here.version + " here, " + there.version + " there";
    }
    if (here.worldSize != there.worldSize) {
      return "world size differs: " + here.worldSize + " here, " + there.worldSize + " there";
    }
    if (!here.fingerprint.equals(there.fingerprint)) {
      return "fingerprint differs: '"
          + here.fingerprint
          + "' here, '"
          + there.fingerprint
          + "' there";
    }
    if (there.rank < 0 || there.rank >= here.worldSize) {
      return "rank " + there.rank + " is outside the world of " + here.worldSize;
    }
    if (there.rank == here.rank) {
      return "both claim rank " + here.rank;
    }
    return null;
  }
}
