package io.moeflux.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.testkit.LeakRecorder;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * What every transport must do, run once per transport (in the style of rsocket-java's {@code
 * TransportTest}): exchanges with any count per rank, early frames, collectives, refused
 * handshakes, lost peers and timeouts, all without leaking a buffer.
 */
abstract class RankMeshContract {
  private final List<RankMesh> meshes = new ArrayList<>();

  /** Configs for a group of {@code ranks}, fingerprint {@code fingerprint}. */
  abstract List<MeshConfig> configs(int ranks, String fingerprint);

  @AfterEach
  void close() {
    Flux.fromIterable(meshes).flatMap(RankMesh::leave).blockLast(Duration.ofSeconds(30));
    LeakRecorder.assertNoLeaks();
  }

  List<RankMesh> start(List<MeshConfig> configs) {
    List<RankMesh> started = MeshConfigs.startAll(configs).block(Duration.ofSeconds(30));
    meshes.addAll(started);
    return started;
  }

  static ByteBuf frame(RankMesh mesh, FrameKind kind, long step, int layer, int count) {
    ByteBuf frame =
        FrameCodec.allocate(mesh.allocator(), kind, step, layer, mesh.rank(), count, 4 * count);
    for (int i = 0; i < count; i++) {
      frame.writeInt(mesh.rank() * 1000 + i);
    }
    return frame;
  }

  @ParameterizedTest(name = "{0} ranks")
  @ValueSource(ints = {1, 2, 3, 4})
  void everyRankGetsOneFrameFromEveryPeerWhateverItsCount(int ranks) {
    List<RankMesh> group = start(configs(ranks, "f"));
    for (long step = 0; step < 20; step++) {
      long s = step;
      List<PeerFrames> received =
          Flux.fromIterable(group)
              .flatMap(
                  mesh ->
                      Collectives.exchange(
                          mesh,
                          FrameKind.DISPATCH,
                          s,
                          0,
                          peer ->
                              frame(
                                  mesh,
                                  FrameKind.DISPATCH,
                                  s,
                                  0,
                                  (int) ((s + mesh.rank() + peer) % 3))))
              .collectList()
              .block(Duration.ofSeconds(10));
      for (PeerFrames frames : received) {
        for (int source = 0; source < ranks; source++) {
          ByteBuf frame = frames.frame(source);
          if (frame == null) {
            continue;
          }
          assertThat(FrameCodec.step(frame)).isEqualTo(s);
          assertThat(FrameCodec.source(frame)).isEqualTo(source);
          int count = FrameCodec.count(frame);
          assertThat(FrameCodec.bodyLength(frame)).isEqualTo(4 * count);
          if (count > 0) {
            assertThat(frame.getInt(FrameCodec.bodyIndex(frame))).isEqualTo(source * 1000);
          }
        }
        frames.release();
      }
    }
  }

  @Test
  void framesThatArriveBeforeTheReceiveAreHeld() {
    List<RankMesh> group = start(configs(2, "f"));
    for (int step = 0; step < 5; step++) {
      group.get(1).send(0, frame(group.get(1), FrameKind.COMBINE, step, 3, 2));
    }
    for (int step = 4; step >= 0; step--) {
      StepVerifier.create(group.get(0).receive(FrameKind.COMBINE, step, 3))
          .assertNext(
              frames -> {
                assertThat(frames.count(1)).isEqualTo(2);
                frames.release();
              })
          .verifyComplete();
    }
  }

  @Test
  void concurrentSendersOnEveryLane() {
    List<RankMesh> group = start(configs(3, "f"));
    FrameKind[] kinds = {FrameKind.DISPATCH, FrameKind.SYNC, FrameKind.MIGRATION};
    Flux.range(0, 60)
        .parallel(4)
        .runOn(Schedulers.parallel())
        .flatMap(
            (Integer i) -> {
              FrameKind kind = kinds[i % 3];
              return Flux.fromIterable(group)
                  .flatMap(
                      mesh ->
                          Collectives.exchange(
                              mesh, kind, i, 0, peer -> frame(mesh, kind, i, 0, 1)))
                  .doOnNext(frames -> frames.release());
            })
        .sequential()
        .blockLast(Duration.ofSeconds(20));
  }

  @Test
  void allGatherLongsFillsEveryRanksValuesIntoOneBuffer() {
    List<RankMesh> group = start(configs(3, "f"));
    List<long[]> results =
        Flux.fromIterable(group)
            .flatMap(
                mesh ->
                    Collectives.allGatherLongs(
                        mesh,
                        FrameKind.HEAT,
                        7,
                        0,
                        new long[] {mesh.rank(), 10L * mesh.rank()},
                        new long[6]))
            .collectList()
            .block(Duration.ofSeconds(10));
    assertThat(results).allSatisfy(all -> assertThat(all).containsExactly(0, 0, 1, 10, 2, 20));
  }

  @Test
  void aBarrierCompletesOnlyWhenEveryoneReachedIt() {
    List<RankMesh> group = start(configs(3, "f"));
    StepVerifier.create(Collectives.barrier(group.get(0), 1))
        .expectSubscription()
        .expectNoEvent(Duration.ofMillis(200))
        .then(() -> Collectives.barrier(group.get(1), 1).subscribe())
        .then(() -> Collectives.barrier(group.get(2), 1).subscribe())
        .verifyComplete();
  }

  @Test
  void aDifferentFingerprintIsRefusedOnBothSidesSayingWhatDiffers() {
    List<MeshConfig> configs = configs(2, "model-a");
    List<MeshConfig> mixed = List.of(configs.get(0), configs.get(1).withFingerprint("model-b"));
    List<Throwable> errors =
        Flux.fromIterable(mixed)
            .flatMap(
                config ->
                    RankMesh.start(config)
                        .doOnNext(meshes::add)
                        .then(Mono.<Throwable>empty())
                        .onErrorResume(Mono::just))
            .collectList()
            .block(Duration.ofSeconds(40));
    assertThat(errors).hasSize(2);
    assertThat(errors)
        .allSatisfy(
            error ->
                assertThat(error)
                    .isInstanceOf(MeshException.class)
                    .hasMessageContaining("fingerprint differs")
                    .hasMessageContaining("model-a")
                    .hasMessageContaining("model-b"));
  }

  @Test
  void aDifferentWorldSizeIsRefused() {
    List<MeshConfig> two = configs(2, "f");
    MeshConfig liar =
        new MeshConfig(
            1,
            3,
            two.get(1).transport(),
            threeAddresses(two),
            two.get(1).groupName(),
            "f",
            Duration.ofSeconds(5),
            Duration.ofSeconds(5),
            Duration.ofSeconds(1),
            Duration.ofSeconds(5));
    StepVerifier.create(
            RankMesh.start(two.get(0).withConnectTimeout(Duration.ofSeconds(5)))
                .doOnNext(meshes::add))
        .then(() -> RankMesh.start(liar).subscribe(meshes::add, error -> {}))
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .isInstanceOf(MeshException.class)
                    .hasMessageContaining("world size differs"))
        .verify(Duration.ofSeconds(20));
  }

  private static List<String> threeAddresses(List<MeshConfig> two) {
    List<String> addresses = new ArrayList<>(two.get(0).addresses());
    if (addresses.isEmpty()) {
      return addresses;
    }
    addresses.add("127.0.0.1:1");
    return addresses;
  }

  @Test
  void aLostPeerFailsWaitingAndLaterReceivesNamingIt() {
    List<RankMesh> group = start(configs(3, "f"));
    Mono<PeerFrames> waiting = group.get(0).receive(FrameKind.DISPATCH, 0, 0);
    StepVerifier.create(waiting)
        .then(() -> group.get(2).dispose())
        .expectErrorSatisfies(
            error ->
                assertThat(error).isInstanceOf(MeshException.class).hasMessageContaining("rank 2"))
        .verify(Duration.ofSeconds(10));
    StepVerifier.create(group.get(0).receive(FrameKind.DISPATCH, 1, 0))
        .expectError(MeshException.class)
        .verify(Duration.ofSeconds(5));
    StepVerifier.create(group.get(0).onClose())
        .expectError(MeshException.class)
        .verify(Duration.ofSeconds(5));
  }

  @Test
  void aPhaseThatWaitsTooLongTimesOutNamingTheMissingRanks() {
    List<MeshConfig> configs = new ArrayList<>();
    for (MeshConfig config : configs(2, "f")) {
      configs.add(config.withPhaseTimeout(Duration.ofMillis(300)));
    }
    List<RankMesh> group = start(configs);
    StepVerifier.create(group.get(0).receive(FrameKind.SYNC, 9, 0))
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .isInstanceOf(MeshException.class)
                    .hasMessageContaining("timed out")
                    .hasMessageContaining("[1]"))
        .verify(Duration.ofSeconds(10));
  }

  @Test
  void leavingDeliversEveryFrameSentBefore() {
    List<RankMesh> group = start(configs(2, "f"));
    IntStream.range(0, 50)
        .forEach(
            step -> group.get(1).send(0, frame(group.get(1), FrameKind.DISPATCH, step, 0, 64)));
    Mono<Void> leave1 = group.get(1).leave();
    List<PeerFrames> got =
        Flux.range(0, 50)
            .concatMap(step -> group.get(0).receive(FrameKind.DISPATCH, step, 0))
            .collectList()
            .block(Duration.ofSeconds(10));
    assertThat(got).hasSize(50);
    got.forEach(PeerFrames::release);
    Mono.when(leave1, group.get(0).leave()).block(Duration.ofSeconds(10));
  }
}
