package io.moeflux.transport.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.Collectives;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.MeshSecret;
import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.ChallengeCodec;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.moeflux.transport.protocol.Handshake;
import io.moeflux.transport.protocol.HandshakeCodec;
import io.moeflux.transport.protocol.HandshakeProofs;
import io.moeflux.transport.protocol.LaneOpenCodec;
import io.moeflux.transport.protocol.ProofCodec;
import io.moeflux.transport.protocol.SetupCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * What every {@link MeshTransport} must refuse: strangers without the group's secret, replayed
 * proofs, a second connection for a connected rank, lanes before the proofs; and what a refused
 * stranger learns (nothing but "refused"). Run by extending it, like {@link RankMeshContract}.
 */
public abstract class MeshAuthContract {
  private static final MeshFingerprint FINGERPRINT =
      MeshFingerprint.builder().put("model", "secret-model-digest").put("capacity", 8).build();
  private final List<RankMesh> meshes = new ArrayList<>();
  private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

  /** A transport for a new group of {@code worldSize} ranks, apart from every other group. */
  protected abstract MeshTransport transport(int worldSize);

  @AfterEach
  void close() {
    Flux.fromIterable(meshes).flatMap(RankMesh::leave).blockLast(Duration.ofSeconds(30));
    LeakRecorder.assertNoLeaks();
  }

  private List<MeshConfig> group(int ranks) {
    return MeshConfigs.group(transport(ranks), ranks, FINGERPRINT);
  }

  private List<RankMesh> startAll(List<MeshConfig> configs) {
    List<RankMesh> started = MeshConfigs.startAll(configs).block(Duration.ofSeconds(30));
    meshes.addAll(started);
    return started;
  }

  @Test
  public void aStrangerWithoutTheSecretCanNeitherJoinNorInject() {
    List<MeshConfig> configs = group(3);
    List<RankMesh> ranks = startAll(configs);
    // the stranger plays rank 2's part with a guessed secret: refused, and told nothing else
    MeshSecret guess =
        MeshSecret.of("not the secret of this group".getBytes(StandardCharsets.UTF_8));
    byte[] nonce = HandshakeProofs.nonce();
    try (Stranger stranger =
        Stranger.connect(
            configs.get(0).transport(), 0, SetupCodec.encode(alloc, 2, HandshakeProofs.nonce()))) {
      StepVerifier.create(stranger.request(ChallengeCodec.encodeRequest(alloc)))
          .expectErrorSatisfies(error -> assertThat(error).hasMessage("refused"))
          .verify();
    }
    try (Stranger stranger =
        Stranger.connect(configs.get(0).transport(), 1, SetupCodec.encode(alloc, 3, nonce))) {
      // a rank outside the world: refused at SETUP
      StepVerifier.create(stranger.request(ChallengeCodec.encodeRequest(alloc)))
          .expectErrorSatisfies(error -> assertThat(error).hasMessage("refused"))
          .verify();
    }
    // a fresh group whose rank 2 is not connected yet: the stranger gets a challenge, fails the
    // proof
    List<MeshConfig> waiting = group(3);
    Mono<List<RankMesh>> twoOfThree =
        MeshConfigs.startAll(waiting.subList(0, 2)).doOnNext(meshes::addAll).cache();
    twoOfThree.subscribe(started -> {}, error -> {});
    // only ranks 0 and 1 are up; the stranger plays rank 2 against rank 0
    try (Stranger stranger =
        Stranger.connect(waiting.get(0).transport(), 0, SetupCodec.encode(alloc, 2, nonce))) {
      byte[] challenge = stranger.request(ChallengeCodec.encodeRequest(alloc)).block();
      ChallengeCodec.Challenge c = ChallengeCodec.decodeAnswer(Unpooled.wrappedBuffer(challenge));
      byte[] tag = HandshakeProofs.groupTag(guess, 3, FINGERPRINT);
      byte[] proof = HandshakeProofs.connectingProof(guess, c.nonce(), nonce, 2, tag);
      StepVerifier.create(
              stranger.request(
                  ProofCodec.encode(alloc, tag, proof, Handshake.current(2, 3, FINGERPRINT))))
          .expectErrorSatisfies(
              error ->
                  assertThat(error)
                      .hasMessage("refused")
                      .hasMessageNotContaining("secret-model-digest"))
          .verify();
    }
    // a lane (with a forged DISPATCH frame) after a challenge but before any proof: refused
    try (Stranger stranger =
        Stranger.connect(
            waiting.get(1).transport(), 1, SetupCodec.encode(alloc, 2, HandshakeProofs.nonce()))) {
      stranger.request(ChallengeCodec.encodeRequest(alloc)).block();
      StepVerifier.create(
              stranger.lane(
                  LaneOpenCodec.encode(alloc, 2, FrameKind.Lane.DATA), dispatch(alloc, 2, 0, 43)))
          .expectError()
          .verify();
    }
    // the real rank 2 still joins, and the group exchanges exactly what its ranks sent
    RankMesh third = RankMesh.start(waiting.get(2)).block(Duration.ofSeconds(30));
    meshes.add(third);
    List<RankMesh> whole = new ArrayList<>(twoOfThree.block(Duration.ofSeconds(30)));
    whole.add(third);
    assertExchangeCarriesWhatWasSent(whole, 0);
    assertExchangeCarriesWhatWasSent(ranks, 0);
  }

  @Test
  public void aReplayedProofFailsAndABadSetupDoesNotStopAStartingRank() {
    List<MeshConfig> configs = group(2);
    MeshConfig first = configs.get(0);
    Mono<RankMesh> rank0 = RankMesh.start(first).doOnNext(meshes::add).cache();
    rank0.subscribe(mesh -> {}, error -> {});
    MeshSecret secret = first.secret();
    byte[] tag = HandshakeProofs.groupTag(secret, 2, FINGERPRINT);
    // garbage, and a SETUP of another protocol version: refused, rank 0 keeps waiting
    byte[] garbage = new byte[64];
    ThreadLocalRandom.current().nextBytes(garbage);
    refusedAtSetup(first.transport(), Unpooled.wrappedBuffer(garbage));
    refusedAtSetup(
        first.transport(), HandshakeCodec.encode(alloc, new Handshake(2, 1, 2, FINGERPRINT)));
    // a proof recorded on one connection fails on the next: it was made over another nonce
    byte[] nonce = HandshakeProofs.nonce();
    byte[] recorded;
    try (Stranger once =
        Stranger.connect(first.transport(), 0, SetupCodec.encode(alloc, 1, nonce))) {
      ChallengeCodec.Challenge c =
          ChallengeCodec.decodeAnswer(
              Unpooled.wrappedBuffer(once.request(ChallengeCodec.encodeRequest(alloc)).block()));
      recorded = HandshakeProofs.connectingProof(secret, c.nonce(), nonce, 1, tag);
    }
    try (Stranger replay =
        Stranger.connect(first.transport(), 0, SetupCodec.encode(alloc, 1, nonce))) {
      replay.request(ChallengeCodec.encodeRequest(alloc)).block();
      StepVerifier.create(
              replay.request(
                  ProofCodec.encode(alloc, tag, recorded, Handshake.current(1, 2, FINGERPRINT))))
          .expectErrorSatisfies(error -> assertThat(error).hasMessage("refused"))
          .verify();
    }
    RankMesh rank1 = RankMesh.start(configs.get(1)).block(Duration.ofSeconds(30));
    meshes.add(rank1);
    assertExchangeCarriesWhatWasSent(List.of(rank0.block(Duration.ofSeconds(30)), rank1), 0);
  }

  @Test
  public void aSecondConnectionClaimingAConnectedRankIsRefused() {
    List<MeshConfig> configs = group(2);
    List<RankMesh> ranks = startAll(configs);
    try (Stranger twin =
        Stranger.connect(
            configs.get(0).transport(), 0, SetupCodec.encode(alloc, 1, HandshakeProofs.nonce()))) {
      StepVerifier.create(twin.request(ChallengeCodec.encodeRequest(alloc)))
          .expectErrorSatisfies(error -> assertThat(error).hasMessage("refused"))
          .verify();
    }
    assertExchangeCarriesWhatWasSent(ranks, 0);
  }

  @Test
  public void ranksWithDifferentSecretsRefuseEachOtherWithoutShowingTheirConfiguration() {
    List<MeshConfig> configs = group(2);
    List<MeshConfig> mixed =
        List.of(
            configs.get(0),
            configs.get(1).toBuilder()
                .secret(MeshSecret.random())
                .connectTimeout(Duration.ofSeconds(5))
                .build());
    List<Throwable> errors = MeshStarts.failures(mixed, meshes);
    assertThat(errors)
        .hasSize(2)
        .allSatisfy(
            error ->
                assertThat(error)
                    .isInstanceOf(MeshException.class)
                    .hasMessageContaining("did not prove the group secret")
                    .hasMessageNotContaining("secret-model-digest"));
  }

  private void refusedAtSetup(MeshTransport transport, ByteBuf setup) {
    try (Stranger stranger = Stranger.connect(transport, 0, setup)) {
      StepVerifier.create(stranger.request(ChallengeCodec.encodeRequest(alloc)))
          .expectErrorSatisfies(error -> assertThat(error).hasMessage("refused"))
          .verify();
    }
  }

  private static ByteBuf dispatch(ByteBufAllocator alloc, int source, long step, int count) {
    ByteBuf frame =
        FrameHeaderCodec.allocate(alloc, FrameKind.DISPATCH, step, 0, source, count, 4 * count);
    for (int i = 0; i < count; i++) {
      frame.writeInt(-1);
    }
    return frame;
  }

  /** Every rank sends {@code rank + peer} ints to each peer and gets exactly what was sent. */
  private static void assertExchangeCarriesWhatWasSent(List<RankMesh> group, long step) {
    List<PeerFrames> received =
        Flux.fromIterable(group)
            .flatMap(
                mesh ->
                    Collectives.exchange(
                        mesh,
                        FrameKind.DISPATCH,
                        step,
                        0,
                        peer -> {
                          int count = mesh.rank() + peer;
                          ByteBuf frame =
                              FrameHeaderCodec.allocate(
                                  mesh.allocator(),
                                  FrameKind.DISPATCH,
                                  step,
                                  0,
                                  mesh.rank(),
                                  count,
                                  4 * count);
                          for (int i = 0; i < count; i++) {
                            frame.writeInt(mesh.rank() * 1000 + peer);
                          }
                          return frame;
                        }))
            .collectList()
            .block(Duration.ofSeconds(10));
    for (PeerFrames frames : received) {
      int self = -1;
      for (int r = 0; r < frames.worldSize(); r++) {
        if (frames.frame(r) == null) {
          self = r;
        }
      }
      for (int source = 0; source < frames.worldSize(); source++) {
        ByteBuf frame = frames.frame(source);
        if (frame == null) {
          continue;
        }
        assertThat(frames.count(source)).isEqualTo(source + self);
        for (int i = 0; i < source + self; i++) {
          assertThat(frame.getInt(FrameHeaderCodec.bodyIndex(frame) + 4 * i))
              .isEqualTo(source * 1000 + self);
        }
      }
      frames.release();
    }
  }
}
