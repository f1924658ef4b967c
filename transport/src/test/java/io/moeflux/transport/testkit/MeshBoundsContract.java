package io.moeflux.transport.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeflux.transport.Collectives;
import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/**
 * What no peer can make a rank hold ({@link InboundLimits}), over every {@link MeshTransport}: far
 * future frames, frames beyond the per-peer quota, frames over the size limit. Each is refused
 * before it is held, fails the rank naming the peer, and leaks nothing. Run by extending it, like
 * {@link RankMeshContract}.
 */
public abstract class MeshBoundsContract {
  private static final int FRAME = 60 * 1024;
  private static final InboundLimits LOW =
      InboundLimits.builder()
          .maxFrameBytes(64 * 1024)
          .maxBytesPerPeer(256 * 1024)
          .stepWindow(2)
          .build();

  private final List<RankMesh> meshes = new ArrayList<>();

  /** A transport for a new group of {@code worldSize} ranks, apart from every other group. */
  protected abstract MeshTransport transport(int worldSize);

  @AfterEach
  void close() {
    meshes.forEach(RankMesh::dispose);
    LeakRecorder.assertNoLeaks();
  }

  private List<RankMesh> start() {
    List<MeshConfig> configs = new ArrayList<>();
    for (MeshConfig config : MeshConfigs.group(transport(2), 2, MeshFingerprint.EMPTY)) {
      configs.add(config.toBuilder().limits(LOW).build());
    }
    List<RankMesh> started = MeshConfigs.startAll(configs).block(Duration.ofSeconds(30));
    meshes.addAll(started);
    return started;
  }

  private static ByteBuf migration(RankMesh from, long step, int bodyBytes) {
    ByteBuf frame =
        FrameHeaderCodec.allocate(
            from.allocator(), FrameKind.MIGRATION, step, 0, from.rank(), bodyBytes / 4, bodyBytes);
    return frame.writeZero(bodyBytes);
  }

  private static ByteBuf dispatch(RankMesh from, long step, int bodyBytes) {
    ByteBuf frame =
        FrameHeaderCodec.allocate(
            from.allocator(), FrameKind.DISPATCH, step, 0, from.rank(), 1, bodyBytes);
    return frame.writeZero(bodyBytes);
  }

  /** Sends up to 1000 frames from {@code from} to rank 0, until a send fails. */
  private static void sendUntilRefused(
      RankMesh from, java.util.function.IntFunction<ByteBuf> frame) {
    try {
      for (int i = 0; i < 1000; i++) {
        from.send(0, frame.apply(i));
      }
    } catch (MeshException failed) {
      assertThat(failed).hasMessageContaining("the mesh failed");
    }
  }

  private static void exchange(List<RankMesh> group, long step) {
    Flux.fromIterable(group)
        .flatMap(
            mesh ->
                Collectives.exchange(
                    mesh, FrameKind.DISPATCH, step, 0, peer -> dispatch(mesh, step, 16)))
        .doOnNext(PeerFrames::release)
        .blockLast(Duration.ofSeconds(10));
  }

  @Test
  public void farFutureFramesFailTheRankNamingTheSenderAndAreNeverHeld() {
    List<RankMesh> group = start();
    exchange(group, 0);
    StepVerifier.create(group.get(0).onClose())
        .then(
            () -> {
              // 60 MB of frames for steps far ahead: the first one is refused, and once rank 0
              // has told rank 1 that it failed, rank 1's sends fail too
              sendUntilRefused(group.get(1), i -> dispatch(group.get(1), 1000 + i, FRAME));
            })
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .isInstanceOf(MeshException.class)
                    .hasMessageContaining("rank 1")
                    .hasMessageContaining("more than 2 steps past step 0"))
        .verify(Duration.ofSeconds(20));
  }

  @Test
  public void framesBeyondThePerPeerQuotaFailTheRankNamingTheSender() {
    List<RankMesh> group = start();
    StepVerifier.create(group.get(0).onClose())
        .then(
            () -> {
              sendUntilRefused(group.get(1), i -> migration(group.get(1), i, FRAME));
            })
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .hasMessageContaining("rank 1")
                    .hasMessageContaining("hold more than 262144 bytes"))
        .verify(Duration.ofSeconds(20));
  }

  @Test
  public void aFrameOverTheSizeLimitFailsTheRankNamingTheSender() {
    List<RankMesh> group = start();
    StepVerifier.create(group.get(0).onClose())
        .then(() -> group.get(1).send(0, migration(group.get(1), 0, 128 * 1024)))
        .expectErrorSatisfies(error -> assertThat(error).hasMessageContaining("rank 1"))
        .verify(Duration.ofSeconds(20));
  }

  @Test
  public void aSendAfterTheRankFailedIsAnErrorForTheCaller() {
    List<RankMesh> group = start();
    group.get(1).send(0, migration(group.get(1), 0, 128 * 1024));
    group
        .get(0)
        .onClose()
        .onErrorResume(error -> reactor.core.publisher.Mono.empty())
        .block(Duration.ofSeconds(20));
    RankMesh failed = group.get(0);
    assertThatThrownBy(() -> failed.send(1, dispatch(failed, 1, 16)))
        .isInstanceOf(MeshException.class)
        .hasMessageContaining("the mesh failed");
  }
}
