package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.MeshSecret;
import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The SETUP, challenge and proof messages, and the proofs they carry. */
@ExtendWith(NoLeaks.class)
class HandshakeMessagesTest {
  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
  private final byte[] key = "the group secret, 32 bytes long!".getBytes(StandardCharsets.UTF_8);
  private final MeshSecret secret = MeshSecret.of(key);
  private final MeshFingerprint fingerprint =
      MeshFingerprint.builder().put("model", "m").put("capacity", 8).build();

  @Test
  void eachMessageRoundTrips() {
    byte[] nonce = HandshakeProofs.nonce();
    ByteBuf setup = SetupCodec.encode(alloc, 3, nonce);
    ByteBuf challenge =
        ChallengeCodec.encodeAnswer(alloc, nonce, new byte[32], HandshakeProofs.nonce());
    ByteBuf proof =
        ProofCodec.encode(alloc, new byte[32], nonce, Handshake.current(3, 4, fingerprint));
    ByteBuf request = ChallengeCodec.encodeRequest(alloc);
    try {
      SetupCodec.Setup s = SetupCodec.decode(setup);
      assertThat(s.version()).isEqualTo(ProtocolVersion.CURRENT);
      assertThat(s.rank()).isEqualTo(3);
      assertThat(s.nonce()).isEqualTo(nonce);
      assertThat(ChallengeCodec.decodeAnswer(challenge).nonce()).isEqualTo(nonce);
      ProofCodec.Proof p = ProofCodec.decode(proof);
      assertThat(p.proof()).isEqualTo(nonce);
      assertThat(p.handshake()).isEqualTo(Handshake.current(3, 4, fingerprint));
      assertThat(ChallengeCodec.isRequest(request)).isTrue();
      assertThat(ProofCodec.isRequest(request)).isFalse();
      assertThat(setup.readerIndex()).isZero();
    } finally {
      setup.release();
      challenge.release();
      proof.release();
      request.release();
    }
  }

  @Test
  void noMessageCarriesTheSecret() {
    byte[] nonce = HandshakeProofs.nonce();
    byte[] tag = HandshakeProofs.groupTag(secret, 4, fingerprint);
    byte[] proofBytes = HandshakeProofs.connectingProof(secret, nonce, nonce, 1, tag);
    ByteBuf[] messages = {
      SetupCodec.encode(alloc, 1, nonce),
      ChallengeCodec.encodeAnswer(
          alloc, nonce, tag, HandshakeProofs.acceptingProof(secret, nonce, nonce, 0, tag)),
      ProofCodec.encode(alloc, tag, proofBytes, Handshake.current(1, 4, fingerprint))
    };
    for (ByteBuf message : messages) {
      try {
        String bytes = new String(ByteBufUtil.getBytes(message), StandardCharsets.ISO_8859_1);
        assertThat(bytes).doesNotContain(new String(key, StandardCharsets.ISO_8859_1));
      } finally {
        message.release();
      }
    }
  }

  @Test
  void aProofHoldsOnlyForItsNonceItsRankItsSideAndItsSecret() {
    byte[] theirs = HandshakeProofs.nonce();
    byte[] ours = HandshakeProofs.nonce();
    byte[] tag = HandshakeProofs.groupTag(secret, 4, fingerprint);
    byte[] proof = HandshakeProofs.connectingProof(secret, theirs, ours, 1, tag);
    assertThat(
            HandshakeProofs.matches(
                proof, HandshakeProofs.connectingProof(secret, theirs, ours, 1, tag)))
        .isTrue();
    assertThat(proof)
        .isNotEqualTo(
            HandshakeProofs.connectingProof(secret, HandshakeProofs.nonce(), ours, 1, tag))
        .isNotEqualTo(HandshakeProofs.connectingProof(secret, theirs, ours, 2, tag))
        .isNotEqualTo(HandshakeProofs.acceptingProof(secret, theirs, ours, 1, tag))
        .isNotEqualTo(HandshakeProofs.connectingProof(MeshSecret.random(), theirs, ours, 1, tag));
  }

  @Test
  void theGroupTagDependsOnTheWorldAndEveryEntryButNotTheirOrder() {
    byte[] tag = HandshakeProofs.groupTag(secret, 4, fingerprint);
    MeshFingerprint reordered =
        MeshFingerprint.builder().put("capacity", 8).put("model", "m").build();
    assertThat(HandshakeProofs.groupTag(secret, 4, reordered)).isEqualTo(tag);
    assertThat(HandshakeProofs.groupTag(secret, 3, fingerprint)).isNotEqualTo(tag);
    assertThat(HandshakeProofs.groupTag(secret, 4, MeshFingerprint.of("model", "m")))
        .isNotEqualTo(tag);
  }

  @Test
  void aSetupOfAnotherVersionSaysOnlyItsVersionAndAMalformedOneIsRefused() {
    ByteBuf old = alloc.buffer().writeInt(2).writeInt(1).writeInt(2).writeInt(0);
    ByteBuf cut = alloc.buffer().writeInt(ProtocolVersion.CURRENT).writeInt(1);
    ByteBuf tiny = alloc.buffer().writeByte(1);
    ByteBuf shortChallenge = alloc.buffer().writeZero(95);
    try {
      assertThat(SetupCodec.decode(old).version()).isEqualTo(2);
      assertThatThrownBy(() -> SetupCodec.decode(cut))
          .isInstanceOf(MalformedFrameException.class)
          .hasMessage("a SETUP payload of 8 bytes, expected 40");
      assertThatThrownBy(() -> SetupCodec.decode(tiny)).hasMessage("a SETUP payload of 1 bytes");
      assertThatThrownBy(() -> ChallengeCodec.decodeAnswer(shortChallenge))
          .hasMessage("a challenge of 95 bytes, expected 96");
      assertThatThrownBy(() -> ProofCodec.decode(old)).hasMessageContaining("not a proof request");
    } finally {
      old.release();
      cut.release();
      tiny.release();
      shortChallenge.release();
    }
  }
}
