package io.moeflux.eplb.heat;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.MeshException;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

class HeatStreamTest {
  private final List<RankMesh> meshes = new ArrayList<>();
  private final List<HeatStream> streams = new ArrayList<>();

  @AfterEach
  void close() {
    streams.forEach(HeatStream::dispose);
    Flux.fromIterable(meshes).flatMap(RankMesh::leave).blockLast(Duration.ofSeconds(20));
    LeakRecorder.assertNoLeaks();
  }

  private List<RankMesh> meshes(int ranks) {
    List<RankMesh> started =
        MeshConfigs.startAll(
                MeshConfigs.group(TransportKind.LOCAL, ranks, MeshFingerprint.of("model", "heat")))
            .block(Duration.ofSeconds(20));
    meshes.addAll(started);
    return started;
  }

  private HeatStream stream(HeatConfig config, RankMesh mesh, Scheduler scheduler) {
    HeatStream stream = HeatStream.start(config, mesh, scheduler, new SimpleMeterRegistry());
    streams.add(stream);
    return stream;
  }

  /** An executor that runs nothing until told: the heat scheduler, held still. */
  private static final class HeldExecutor implements java.util.concurrent.Executor {
    private final java.util.Queue<Runnable> tasks =
        new java.util.concurrent.ConcurrentLinkedQueue<>();

    @Override
    public void execute(Runnable task) {
      tasks.add(task);
    }

    void runAll() {
      Runnable task;
      while ((task = tasks.poll()) != null) {
        task.run();
      }
    }
  }

  @Test
  void nothingIsReducedUntilTheHeatSchedulerRunsAndWindowsFollowStepIds() {
    HeldExecutor held = new HeldExecutor();
    HeatStream heat =
        stream(
            HeatConfig.builder().layers(2).localSlots(3).interval(4).window(8).build(),
            meshes(1).get(0),
            Schedulers.fromExecutor(held));
    for (long step = 0; step < 12; step++) {
      heat.onDispatch(step, 0, false, new int[] {1, 0, 2});
      heat.onDispatch(step, 1, false, new int[] {0, (int) step, 0});
      heat.onStepEnd(step);
    }
    assertThat(heat.tokensCounted()).isZero();
    assertThat(heat.latest()).isNull();
    StepVerifier.create(heat.snapshots().take(3))
        .then(held::runAll)
        .assertNext(
            s -> {
              assertThat(s.fromStep()).isZero();
              assertThat(s.toStep()).isEqualTo(4);
              assertThat(s.count(0, 0, 2)).isEqualTo(8);
              assertThat(s.count(1, 0, 1)).isEqualTo(0 + 1 + 2 + 3);
            })
        .assertNext(
            s -> {
              // sliding window of 8 steps: steps 0..7
              assertThat(s.fromStep()).isZero();
              assertThat(s.toStep()).isEqualTo(8);
              assertThat(s.count(0, 0, 0)).isEqualTo(8);
            })
        .assertNext(
            s -> {
              assertThat(s.fromStep()).isEqualTo(4);
              assertThat(s.toStep()).isEqualTo(12);
              assertThat(s.count(1, 0, 1)).isEqualTo(4 + 5 + 6 + 7 + 8 + 9 + 10 + 11);
            })
        .expectComplete()
        .verify(Duration.ofSeconds(10));
    assertThat(heat.tokensCounted()).isEqualTo(12 * 3 + 66);
  }

  /** The heat scheduler is injected; here a virtual-time one. */
  @Test
  void theStageFilterKeepsOnlyTheChosenSteps() {
    VirtualTimeScheduler time = VirtualTimeScheduler.create();
    HeatStream heat =
        stream(
            HeatConfig.builder()
                .layers(1)
                .localSlots(1)
                .interval(2)
                .stages(StageFilter.DECODE)
                .build(),
            meshes(1).get(0),
            time);
    heat.onDispatch(0, 0, true, new int[] {5});
    heat.onDispatch(1, 0, false, new int[] {7});
    heat.onStepEnd(1);
    time.advanceTime();
    assertThat(heat.tokensCounted()).isEqualTo(7);
    assertThat(heat.latest().count(0, 0, 0)).isEqualTo(7);
  }

  /**
   * The upstream race, provoked: the main path pushes many steps while the heat scheduler is held
   * back, so samples coalesce. Every routed token is counted exactly once.
   */
  @Test
  void aSlowHeatSchedulerLosesNothingAndCountsNothingTwice() throws Exception {
    Scheduler slow = Schedulers.newSingle("slow-heat");
    try {
      CountDownLatch hold = new CountDownLatch(1);
      slow.schedule(
          () -> {
            try {
              hold.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
      HeatStream heat =
          stream(
              HeatConfig.builder().layers(3).localSlots(4).interval(7).queueCapacity(64).build(),
              meshes(1).get(0),
              slow);
      List<HeatSnapshot> seen = new ArrayList<>();
      heat.snapshots().subscribe(seen::add);
      SplittableRandom random = new SplittableRandom(3);
      long routed = 0;
      int steps = 20_000;
      for (long step = 0; step < steps; step++) {
        for (int layer = 0; layer < 3; layer++) {
          int[] counts = new int[4];
          for (int s = 0; s < 4; s++) {
            counts[s] = random.nextInt(20);
            routed += counts[s];
          }
          heat.onDispatch(step, layer, false, counts);
        }
        heat.onStepEnd(step);
      }
      assertThat(heat.coalescedSamples()).as("the main path coalesced").isPositive();
      hold.countDown();
      heat.flush();
      long expected = routed;
      Flux.interval(Duration.ofMillis(10))
          .takeUntil(tick -> heat.tokensCounted() == expected && seen.size() == steps / 7)
          .blockLast(Duration.ofSeconds(30));
      assertThat(heat.tokensCounted()).isEqualTo(routed);
      long inSnapshots = seen.stream().mapToLong(HeatSnapshot::totalTokens).sum();
      assertThat(seen).hasSize(steps / 7);
      assertThat(seen.get(seen.size() - 1).toStep()).isEqualTo((steps / 7) * 7L);
      // what the complete windows saw, plus the open window's remainder, is every routed token
      assertThat(inSnapshots).isLessThanOrEqualTo(routed);
      assertThat(seen).extracting(HeatSnapshot::fromStep).isSorted();
    } finally {
      slow.dispose();
    }
  }

  @Test
  void everyRankSnapshotsTheSameStepsAndTheSameCounts() throws Exception {
    int ranks = 3;
    List<RankMesh> group = meshes(ranks);
    List<HeatStream> heats = new ArrayList<>();
    List<List<HeatSnapshot>> seen = new ArrayList<>();
    for (RankMesh mesh : group) {
      HeatStream heat =
          stream(
              HeatConfig.builder().layers(2).localSlots(2).interval(5).build(),
              mesh,
              Schedulers.newSingle("heat"));
      heats.add(heat);
      List<HeatSnapshot> mine = new ArrayList<>();
      heat.snapshots().subscribe(mine::add);
      seen.add(mine);
    }
    List<Thread> mains = new ArrayList<>();
    AtomicLong routed = new AtomicLong();
    for (int r = 0; r < ranks; r++) {
      int rank = r;
      Thread main =
          new Thread(
              () -> {
                SplittableRandom random = new SplittableRandom(rank);
                for (long step = 0; step < 500; step++) {
                  for (int layer = 0; layer < 2; layer++) {
                    int a = random.nextInt(10);
                    int b = random.nextInt(10);
                    routed.addAndGet(a + b);
                    heats.get(rank).onDispatch(step, layer, false, new int[] {a, b});
                  }
                  heats.get(rank).onStepEnd(step);
                }
              });
      mains.add(main);
      main.start();
    }
    for (Thread main : mains) {
      main.join(20_000);
    }
    heats.forEach(HeatStream::flush);
    Flux.interval(Duration.ofMillis(10))
        .takeUntil(tick -> seen.stream().allMatch(list -> list.size() == 100))
        .take(Duration.ofSeconds(10))
        .blockLast(Duration.ofSeconds(30));
    System.err.println(
        "DEBUG sizes "
            + seen.stream().map(List::size).toList()
            + " counted "
            + heats.stream().map(HeatStream::tokensCounted).toList()
            + " routed "
            + routed);
    for (int i = 0; i < 100; i++) {
      HeatSnapshot first = seen.get(0).get(i);
      for (int r = 1; r < ranks; r++) {
        HeatSnapshot other = seen.get(r).get(i);
        assertThat(other.fromStep()).isEqualTo(first.fromStep());
        assertThat(other.toStep()).isEqualTo(first.toStep());
        for (int l = 0; l < 2; l++) {
          for (int rr = 0; rr < ranks; rr++) {
            for (int s = 0; s < 2; s++) {
              assertThat(other.count(l, rr, s)).isEqualTo(first.count(l, rr, s));
            }
          }
        }
      }
    }
    long total = seen.get(0).stream().mapToLong(HeatSnapshot::totalTokens).sum();
    assertThat(total).isEqualTo(routed.get());
    heats.forEach(h -> assertThat(h.latest().balancedness(0)).isBetween(0.0, 1.0));
  }

  @Test
  void balancednessIsMeanOverMax() {
    long[] counts = {10, 0, 20, 10, 30, 0, 0, 0}; // 1 layer, 4 ranks, 2 slots
    HeatSnapshot snapshot = new HeatSnapshot(0, 10, 1, 4, 2, counts);
    // rank totals 10, 30, 30, 0: mean 17.5, max 30
    assertThat(snapshot.balancedness(0))
        .isCloseTo(17.5 / 30, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(snapshot.peakToAverage(0))
        .isCloseTo(30 / 17.5, org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void aLostPeerErrorsTheSnapshotsButNeverTheMainPath() {
    List<RankMesh> group = meshes(2);
    HeatStream heat =
        stream(
            HeatConfig.builder().layers(1).localSlots(1).interval(2).build(),
            group.get(0),
            Schedulers.newSingle("heat"));
    group.get(1).dispose();
    StepVerifier.create(heat.snapshots())
        .then(
            () -> {
              for (long step = 0; step < 10; step++) {
                heat.onDispatch(step, 0, false, new int[] {1});
                heat.onStepEnd(step);
              }
            })
        .expectError(MeshException.class)
        .verify(Duration.ofSeconds(20));
    heat.onDispatch(10, 0, false, new int[] {1});
    heat.onStepEnd(11);
  }
}
