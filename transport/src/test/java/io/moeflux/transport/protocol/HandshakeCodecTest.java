package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NoLeaks.class)
class HandshakeCodecTest {
  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
  private final MeshFingerprint fingerprint =
      MeshFingerprint.builder()
          .put("model", "3fa2c1d0e9b87654")
          .put("capacity", 8)
          .put("switch", "0+0")
          .put("redundant", 0)
          .build();

  @Test
  void aHandshakeRoundTripsWithItsEntriesInOrder() {
    Handshake sent = Handshake.current(2, 4, fingerprint);
    ByteBuf bytes = HandshakeCodec.encode(alloc, sent);
    try {
      Handshake got = HandshakeCodec.decode(bytes);
      assertThat(got).isEqualTo(sent);
      assertThat(got.version()).isEqualTo(ProtocolVersion.CURRENT);
      assertThat(got.fingerprint().entries().keySet())
          .containsExactly("model", "capacity", "switch", "redundant");
      assertThat(bytes.readerIndex()).isZero();
    } finally {
      bytes.release();
    }
  }

  @Test
  void anEmptyFingerprintRoundTrips() {
    ByteBuf bytes = HandshakeCodec.encode(alloc, Handshake.current(0, 1, MeshFingerprint.EMPTY));
    try {
      assertThat(bytes.readableBytes()).isEqualTo(16);
      assertThat(HandshakeCodec.decode(bytes).fingerprint()).isEqualTo(MeshFingerprint.EMPTY);
    } finally {
      bytes.release();
    }
  }

  @Test
  void aPeerOfTheFirstVersionIsRefusedOnTheVersion() {
    // version 1: version, rank, world size, then the fingerprint as one length-prefixed string
    byte[] text = "abc/cap8".getBytes(StandardCharsets.UTF_8);
    ByteBuf v1 =
        alloc.buffer().writeInt(1).writeInt(1).writeInt(2).writeInt(text.length).writeBytes(text);
    try {
      Handshake there = HandshakeCodec.decode(v1);
      assertThat(there.version()).isEqualTo(1);
      assertThat(there.rank()).isEqualTo(1);
      assertThat(Handshake.current(0, 2, fingerprint).mismatch(there))
          .hasValue("protocol version differs: " + ProtocolVersion.CURRENT + " here, 1 there");
    } finally {
      v1.release();
    }
  }

  @Test
  void theMismatchNamesEveryEntryThatDiffersWithBothValues() {
    Handshake here = Handshake.current(0, 2, fingerprint);
    Handshake there =
        Handshake.current(
            1,
            2,
            MeshFingerprint.builder()
                .put("model", "3fa2c1d0e9b87654")
                .put("capacity", 16)
                .put("redundant", 0)
                .put("kernel", "simd")
                .build());
    assertThat(here.mismatch(there))
        .hasValue(
            "fingerprint differs: capacity '8' here, '16' there; switch '0+0' here, (absent)"
                + " there; kernel (absent) here, 'simd' there");
    assertThat(here.mismatch(Handshake.current(1, 3, fingerprint)))
        .hasValue("world size differs: 2 here, 3 there");
    assertThat(here.mismatch(Handshake.current(0, 2, fingerprint))).hasValue("both claim rank 0");
    assertThat(here.mismatch(Handshake.current(5, 2, fingerprint)))
        .hasValue("rank 5 is outside the world of 2");
    assertThat(here.mismatch(Handshake.current(1, 2, fingerprint))).isEmpty();
  }

  @Test
  void boundsAreCheckedBeforeAnythingIsHeld() {
    ByteBuf tooMany =
        alloc.buffer().writeInt(ProtocolVersion.CURRENT).writeInt(0).writeInt(2).writeInt(1000);
    ByteBuf hugeKey =
        alloc
            .buffer()
            .writeInt(ProtocolVersion.CURRENT)
            .writeInt(0)
            .writeInt(2)
            .writeInt(1)
            .writeInt(Integer.MAX_VALUE);
    ByteBuf cut = HandshakeCodec.encode(alloc, Handshake.current(0, 2, fingerprint));
    cut.writerIndex(cut.writerIndex() - 1);
    ByteBuf tiny = alloc.buffer().writeInt(ProtocolVersion.CURRENT);
    try {
      assertThatThrownBy(() -> HandshakeCodec.decode(tooMany))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessageContaining("1000 fingerprint entries, at most 64");
      assertThatThrownBy(() -> HandshakeCodec.decode(hugeKey))
          .hasMessageContaining("a fingerprint key of 2147483647 bytes");
      assertThatThrownBy(() -> HandshakeCodec.decode(cut))
          .hasMessageContaining("a fingerprint value of 1 bytes");
      assertThatThrownBy(() -> HandshakeCodec.decode(tiny)).hasMessageContaining("4 bytes");
    } finally {
      tooMany.release();
      hugeKey.release();
      cut.release();
      tiny.release();
    }
  }
}
