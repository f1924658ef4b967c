package io.moeflux.transport.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.Collectives;
import io.moeflux.transport.InboundLimits;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.MeshTransport;
import io.moeflux.transport.PeerFrames;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.StepAbortedException;
import io.moeflux.transport.protocol.FrameHeaderCodec;
import io.moeflux.transport.protocol.FrameKind;
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
 * What every {@link MeshTransport} must do, in the style of rsocket-java's {@code TransportTest}:
 * exchanges with any count per rank, early frames, collectives, refused handshakes, aborted steps,
 * lost peers and timeouts, all without leaking a buffer.
 *
 * <p>A transport runs it by extending this class (it is published in the transport test-jar) and
 * saying how to make its transport for a group:
 *
 * <pre>{@code
 * class TcpRankMeshTest extends RankMeshContract {
 *   protected MeshTransport transport(int worldSize) { return TcpMeshTransport.loopback(worldSize); }
 *   protected MeshTransport grownByOne(MeshTransport group) { ... }
 * }
 * }</pre>
 *
 * The module that runs it needs the test-jar and paranoid leak detection ({@code
 * -Dio.netty.leakDetection.level=paranoid}), so that {@link LeakRecorder} catches every leak.
 */
public abstract class RankMeshContract {
  private final List<RankMesh> meshes = new ArrayList<>();

  /** A transport for a new group of {@code worldSize} ranks, apart from every other group. */
  protected abstract MeshTransport transport(int worldSize);

  /**
   * {@code group}'s transport for a world one rank larger: its ranks are reached as before, and
   * nobody answers at the new one.
   */
  protected abstract MeshTransport grownByOne(MeshTransport group);

  /** Configs for a new group of {@code ranks}, with default timeouts. */
  protected final List<MeshConfig> configs(int ranks, MeshFingerprint fingerprint) {
    return MeshConfigs.group(transport(ranks), ranks, fingerprint);
  }

  /** {@code configs} whose DATA frames may run {@code steps} ahead (tests that break lockstep). */
  protected static List<MeshConfig> withStepWindow(List<MeshConfig> configs, int steps) {
    List<MeshConfig> wide = new ArrayList<>();
    for (MeshConfig config : configs) {
      wide.add(
          config.toBuilder().limits(InboundLimits.builder().stepWindow(steps).build()).build());
    }
    return wide;
  }

  /** A one-entry fingerprint: {@code model=<value>}. */
  protected static MeshFingerprint model(String value) {
    return MeshFingerprint.of("model", value);
  }

  @AfterEach
  void close() {
    Flux.fromIterable(meshes).flatMap(RankMesh::leave).blockLast(Duration.ofSeconds(30));
    LeakRecorder.assertNoLeaks();
  }

  /** Starts every config and closes the meshes after the test. */
  protected final List<RankMesh> start(List<MeshConfig> configs) {
    List<RankMesh> started = MeshConfigs.startAll(configs).block(Duration.ofSeconds(30));
    meshes.addAll(started);
    return started;
  }

  /**
   * A frame of {@code count} elements, the first {@code rank × 1000}: ints, or longs for a CONTROL
   * kind (whose bodies are longs).
   */
  protected static ByteBuf frame(RankMesh mesh, FrameKind kind, long step, int layer, int count) {
    boolean longs = kind.lane() == FrameKind.Lane.CONTROL;
    ByteBuf frame =
        FrameHeaderCodec.allocate(
            mesh.allocator(), kind, step, layer, mesh.rank(), count, (longs ? 8 : 4) * count);
    for (int i = 0; i < count; i++) {
      if (longs) {
        frame.writeLong(mesh.rank() * 1000 + i);
      } else {
        frame.writeInt(mesh.rank() * 1000 + i);
      }
    }
    return frame;
  }

  @Test
  public void stepsOpenedNamesEachStepAPeerStartedOnceAndNoTags() {
    List<RankMesh> group = start(configs(2, model("o")));
    RankMesh sender = group.get(0);
    RankMesh receiver = group.get(1);
    // tags and steps in the order a step-on-demand peer would send them
    record Sent(FrameKind kind, long step, int layer) {}
    List<Sent> sent =
        List.of(
            new Sent(FrameKind.SYNC, -1, 0), // the start-up agreement
            new Sent(FrameKind.HEAT, 9, 0), // a heat window, not a step
            new Sent(FrameKind.PLAN, 8, -1), // a barrier
            new Sent(FrameKind.DISPATCH, 0, 0),
            new Sent(FrameKind.COMBINE, 0, 0),
            new Sent(FrameKind.SYNC, 1, 0),
            new Sent(FrameKind.DISPATCH, 1, 0),
            new Sent(FrameKind.PLAN, 2, 0));
    for (Sent frame : sent) {
      sender.send(1, frame(sender, frame.kind(), frame.step(), frame.layer(), 1));
      receiver
          .receive(frame.kind(), frame.step(), frame.layer())
          .doOnNext(PeerFrames::release)
          .block(Duration.ofSeconds(10));
    }
    StepVerifier.create(receiver.stepsOpened().take(1)).expectNext(2L).verifyComplete();
    List<Long> seen = new ArrayList<>();
    receiver.stepsOpened().subscribe(seen::add);
    sender.send(1, frame(sender, FrameKind.GATHER, 3, 0, 1));
    receiver
        .receive(FrameKind.GATHER, 3, 0)
        .doOnNext(PeerFrames::release)
        .block(Duration.ofSeconds(10));
    assertThat(seen).containsExactly(2L, 3L);
    // the sender heard nothing from the receiver: no step opened there
    StepVerifier.create(sender.stepsOpened().take(Duration.ofMillis(100))).verifyComplete();
  }

  @ParameterizedTest(name = "{0} ranks")
  @ValueSource(ints = {1, 2, 3, 4})
  public void everyRankGetsOneFrameFromEveryPeerWhateverItsCount(int ranks) {
    List<RankMesh> group = start(configs(ranks, model("f")));
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
          assertThat(FrameHeaderCodec.step(frame)).isEqualTo(s);
          assertThat(FrameHeaderCodec.source(frame)).isEqualTo(source);
          int count = FrameHeaderCodec.count(frame);
          assertThat(FrameHeaderCodec.bodyLength(frame)).isEqualTo(4 * count);
          if (count > 0) {
            assertThat(frame.getInt(FrameHeaderCodec.bodyIndex(frame))).isEqualTo(source * 1000);
          }
        }
        frames.release();
      }
    }
  }

  @Test
  public void framesThatArriveBeforeTheReceiveAreHeld() {
    List<RankMesh> group = start(configs(2, model("f")));
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
  public void concurrentSendersOnEveryLane() {
    // steps run out of order here, so the DATA step window must span all of them
    List<RankMesh> group = start(withStepWindow(configs(3, model("f")), 60));
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
  public void allGatherLongsFillsEveryRanksValuesIntoOneBuffer() {
    List<RankMesh> group = start(configs(3, model("f")));
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
  public void aBarrierCompletesOnlyWhenEveryoneReachedIt() {
    List<RankMesh> group = start(configs(3, model("f")));
    StepVerifier.create(Collectives.barrier(group.get(0), 1))
        .expectSubscription()
        .expectNoEvent(Duration.ofMillis(200))
        .then(() -> Collectives.barrier(group.get(1), 1).subscribe())
        .then(() -> Collectives.barrier(group.get(2), 1).subscribe())
        .verifyComplete();
  }

  @Test
  public void aDifferentFingerprintIsRefusedOnBothSidesSayingWhatDiffers() {
    List<MeshConfig> configs = configs(2, model("model-a"));
    List<MeshConfig> mixed =
        List.of(configs.get(0), configs.get(1).toBuilder().fingerprint(model("model-b")).build());
    assertThat(startBoth(mixed))
        .allSatisfy(
            error ->
                assertThat(error)
                    .isInstanceOf(MeshException.class)
                    .hasMessageContaining("fingerprint differs")
                    .hasMessageContaining("model-a")
                    .hasMessageContaining("model-b"));
  }

  @Test
  public void aFingerprintRefusalNamesEveryEntryThatDiffersWithBothValues() {
    MeshFingerprint base =
        MeshFingerprint.builder().put("model", "m").put("capacity", 8).put("redundant", 0).build();
    MeshFingerprint other =
        MeshFingerprint.builder()
            .put("model", "m")
            .put("capacity", 16)
            .put("redundant", 0)
            .put("kernel", "simd")
            .build();
    List<MeshConfig> configs = configs(2, base);
    List<MeshConfig> mixed =
        List.of(configs.get(0), configs.get(1).toBuilder().fingerprint(other).build());
    // each side names every entry that differs, both values, from its own point of view
    assertThat(startBoth(mixed))
        .allSatisfy(
            error ->
                assertThat(error.getMessage())
                    .satisfiesAnyOf(
                        message ->
                            assertThat(message)
                                .contains(
                                    "fingerprint differs: capacity '8' here, '16' there;"
                                        + " kernel (absent) here, 'simd' there"),
                        message ->
                            assertThat(message)
                                .contains(
                                    "fingerprint differs: capacity '16' here, '8' there;"
                                        + " kernel 'simd' here, (absent) there")));
  }

  private List<Throwable> startBoth(List<MeshConfig> configs) {
    List<Throwable> errors = MeshStarts.failures(configs, meshes);
    assertThat(errors).hasSize(configs.size());
    return errors;
  }

  @Test
  public void aDifferentWorldSizeIsRefused() {
    List<MeshConfig> two = configs(2, model("f"));
    MeshConfig liar =
        two.get(1).toBuilder()
            .worldSize(3)
            .transport(grownByOne(two.get(1).transport()))
            .connectTimeout(Duration.ofSeconds(5))
            .phaseTimeout(Duration.ofSeconds(5))
            .keepAlive(Duration.ofSeconds(1), Duration.ofSeconds(5))
            .build();
    StepVerifier.create(
            RankMesh.start(two.get(0).toBuilder().connectTimeout(Duration.ofSeconds(5)).build())
                .doOnNext(meshes::add))
        .then(() -> RankMesh.start(liar).subscribe(meshes::add, error -> {}))
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .isInstanceOf(MeshException.class)
                    .hasMessageContaining("world size differs"))
        .verify(Duration.ofSeconds(20));
  }

  @Test
  public void anAbortedStepFailsItsReceivesOnEveryRankWithTheReason() {
    List<RankMesh> group = start(configs(3, model("f")));
    // rank 2 already sent its dispatch frame for the step: it is released, not held
    group.get(2).send(0, frame(group.get(2), FrameKind.DISPATCH, 5, 0, 4));
    Mono<PeerFrames> pending0 = group.get(0).receive(FrameKind.DISPATCH, 5, 0);
    Mono<PeerFrames> pending2 = group.get(2).receive(FrameKind.DISPATCH, 5, 0);
    StepVerifier.create(Mono.zip(pending0.materialize(), pending2.materialize()))
        .then(() -> group.get(1).abort(5, "5 tokens exceed the capacity of 4"))
        .assertNext(
            both ->
                assertThat(List.of(both.getT1().getThrowable(), both.getT2().getThrowable()))
                    .allSatisfy(error -> assertAbortedByRank1(error, 5)))
        .verifyComplete();
    for (RankMesh mesh : group) {
      // a later receive of any DATA phase of that step fails at once, on the aborting rank too
      StepVerifier.create(mesh.receive(FrameKind.COMBINE, 5, 1))
          .expectErrorSatisfies(error -> assertAbortedByRank1(error, 5))
          .verify(Duration.ofSeconds(5));
    }
  }

  @Test
  public void afterAnAbortedStepTheNextStepStillRuns() {
    List<RankMesh> group = start(configs(3, model("f")));
    group.get(0).abort(5, "refused");
    // frames of the aborted step still on their way are dropped on arrival
    group.get(2).send(1, frame(group.get(2), FrameKind.DISPATCH, 5, 0, 3));
    List<PeerFrames> next =
        Flux.fromIterable(group)
            .flatMap(
                mesh ->
                    Collectives.exchange(
                        mesh,
                        FrameKind.DISPATCH,
                        6,
                        0,
                        peer -> frame(mesh, FrameKind.DISPATCH, 6, 0, 2)))
            .collectList()
            .block(Duration.ofSeconds(10));
    assertThat(next).hasSize(3);
    for (PeerFrames frames : next) {
      for (int source = 0; source < 3; source++) {
        ByteBuf frame = frames.frame(source);
        if (frame != null) {
          assertThat(FrameHeaderCodec.step(frame)).isEqualTo(6);
          assertThat(frames.count(source)).isEqualTo(2);
        }
      }
      frames.release();
    }
    // a control phase that shares the aborted step's id is not affected
    List<long[]> gathered =
        Flux.fromIterable(group)
            .flatMap(
                mesh ->
                    Collectives.allGatherLongs(
                        mesh, FrameKind.SYNC, 5, 0, new long[] {mesh.rank()}, new long[3]))
            .collectList()
            .block(Duration.ofSeconds(10));
    assertThat(gathered).allSatisfy(all -> assertThat(all).containsExactly(0, 1, 2));
    assertThat(group).allSatisfy(mesh -> assertThat(mesh.isDisposed()).isFalse());
  }

  private static void assertAbortedByRank1(Throwable error, long step) {
    assertThat(error)
        .isInstanceOf(StepAbortedException.class)
        .hasMessageContaining("aborted by rank 1");
    StepAbortedException aborted = (StepAbortedException) error;
    assertThat(aborted.peer()).isEqualTo(1);
    assertThat(aborted.step()).isEqualTo(step);
    assertThat(aborted.reason()).isEqualTo("5 tokens exceed the capacity of 4");
  }

  @Test
  public void aFrameThatLiesAboutItsSourceFailsTheReceiverNamingTheSender() {
    List<RankMesh> group = start(configs(2, model("f")));
    ByteBuf lie =
        FrameHeaderCodec.allocate(group.get(1).allocator(), FrameKind.SYNC, 0, 0, 0, 0, 0);
    StepVerifier.create(group.get(0).onClose())
        .then(() -> group.get(1).send(0, lie))
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .isInstanceOf(MeshException.class)
                    .hasMessageContaining("rank 1")
                    .hasMessageContaining("claiming source 0"))
        .verify(Duration.ofSeconds(10));
  }

  @Test
  public void aLostPeerFailsWaitingAndLaterReceivesNamingIt() {
    List<RankMesh> group = start(configs(3, model("f")));
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
  public void aRankThatFailsTellsItsPeersWhySoTheyNameTheCause() {
    List<RankMesh> group = start(configs(3, model("f")));
    ByteBuf lie =
        FrameHeaderCodec.allocate(group.get(2).allocator(), FrameKind.SYNC, 0, 0, 1, 0, 0);
    // rank 2 breaks the protocol towards rank 0; rank 1 hears the cause from a failed peer
    StepVerifier.create(group.get(1).onClose())
        .then(() -> group.get(2).send(0, lie))
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .isInstanceOf(MeshException.class)
                    .hasMessageStartingWith("rank 1: rank ")
                    .hasMessageContaining(" failed: ")
                    .hasMessageContaining("claiming source 1"))
        .verify(Duration.ofSeconds(10));
  }

  @Test
  public void aPhaseThatWaitsTooLongTimesOutNamingTheMissingRanks() {
    List<MeshConfig> configs = new ArrayList<>();
    for (MeshConfig config : configs(2, model("f"))) {
      configs.add(config.toBuilder().phaseTimeout(Duration.ofMillis(300)).build());
    }
    List<RankMesh> group = start(configs);
    StepVerifier.create(group.get(0).receive(FrameKind.SYNC, 9, 0))
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .isInstanceOf(MeshException.class)
                    .hasMessageContaining("timed out")
                    .hasMessageContaining("waiting for the frames of rank 1"))
        .verify(Duration.ofSeconds(10));
  }

  @Test
  public void leavingDeliversEveryFrameSentBefore() {
    // 50 steps sent at once, received one by one: the window must span them
    List<RankMesh> group = start(withStepWindow(configs(2, model("f")), 50));
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
