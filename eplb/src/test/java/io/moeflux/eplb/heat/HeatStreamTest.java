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
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
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
  static final class HeldExecutor implements Executor {
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();

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

  /**
   * The race that got the upstream heat change reverted, provoked: the caller lends one array and
   * overwrites it right after every hand-off (as the pipeline does, layer after layer), while the
   * heat scheduler is held, so nothing has been read yet. The stream must count what was handed
   * over, not what the array holds later.
   */
  @Test
  void theCallerMayOverwriteItsArrayRightAfterTheHandOff() {
    HeldExecutor held = new HeldExecutor();
    HeatStream heat =
        stream(
            HeatConfig.builder().layers(2).localSlots(3).interval(5).build(),
            meshes(1).get(0),
            Schedulers.fromExecutor(held));
    int[] lent = new int[3];
    long[][] expected = new long[2][3];
    SplittableRandom random = new SplittableRandom(14);
    for (long step = 0; step < 5; step++) {
      for (int layer = 0; layer < 2; layer++) {
        for (int s = 0; s < 3; s++) {
          lent[s] = random.nextInt(9);
          expected[layer][s] += lent[s];
        }
        heat.onDispatch(step, layer, false, lent);
        Arrays.fill(lent, 1_000_000);
      }
      heat.onStepEnd(step);
    }
    StepVerifier.create(heat.snapshots().take(1))
        .then(held::runAll)
        .assertNext(
            snapshot -> {
              for (int layer = 0; layer < 2; layer++) {
                for (int s = 0; s < 3; s++) {
                  assertThat(snapshot.count(layer, 0, s))
                      .as("layer %d slot %d", layer, s)
                      .isEqualTo(expected[layer][s]);
                }
              }
            })
        .expectComplete()
        .verify(Duration.ofSeconds(10));
  }

  /**
   * A full queue: the main path coalesces and, at the end, flushes without waiting for the held
   * heat scheduler; once it runs, every count is there, in its window, and nothing twice.
   */
  @Test
  void flushHandsTheBacklogOverWithoutWaitingForTheHeatScheduler() {
    HeldExecutor held = new HeldExecutor();
    HeatStream heat =
        stream(
            HeatConfig.builder().layers(1).localSlots(2).interval(10).queueCapacity(8).build(),
            meshes(1).get(0),
            Schedulers.fromExecutor(held));
    List<HeatSnapshot> seen = new CopyOnWriteArrayList<>();
    heat.snapshots().subscribe(seen::add);
    int[] lent = new int[2];
    long[] perWindow = new long[4];
    for (long step = 0; step < 40; step++) {
      lent[0] = (int) step;
      lent[1] = 1;
      perWindow[(int) (step / 10)] += step + 1;
      heat.onDispatch(step, 0, false, lent);
      Arrays.fill(lent, -1);
      heat.onStepEnd(step);
    }
    assertThat(heat.coalescedSamples()).isPositive();
    heat.flush();
    assertThat(heat.tokensCounted()).as("the heat scheduler is still held").isZero();
    held.runAll();
    assertThat(heat.tokensCounted()).isEqualTo(Arrays.stream(perWindow).sum());
    assertThat(seen)
        .extracting(HeatSnapshot::tokenExpertAssignments)
        .containsExactly(perWindow[0], perWindow[1], perWindow[2], perWindow[3]);
  }

  /**
   * What a late subscriber gets: this rank's counts for the open window at once, then only the
   * snapshots completed after it subscribed (no old one replayed).
   */
  @Test
  void aLateSubscriberGetsTheOpenWindowThenOnlyNewSnapshots() {
    HeldExecutor held = new HeldExecutor();
    HeatStream heat =
        stream(
            HeatConfig.builder().layers(2).localSlots(2).interval(4).build(),
            meshes(1).get(0),
            Schedulers.fromExecutor(held));
    for (long step = 0; step < 6; step++) {
      heat.onDispatch(step, 0, false, new int[] {1, 2});
      heat.onDispatch(step, 1, false, new int[] {0, (int) step});
      heat.onStepEnd(step);
    }
    held.runAll();
    assertThat(heat.latest()).isNotNull();
    StepVerifier.create(heat.currentWindow())
        .then(held::runAll)
        .assertNext(
            open -> {
              assertThat(open.rank()).isZero();
              assertThat(open.fromStep()).isEqualTo(4);
              assertThat(open.toStep()).isEqualTo(6);
              assertThat(open.count(0, 0)).isEqualTo(2);
              assertThat(open.count(0, 1)).isEqualTo(4);
              assertThat(open.count(1, 1)).isEqualTo(4 + 5);
              assertThat(open.tokenExpertAssignments()).isEqualTo(2 + 4 + 9);
            })
        .verifyComplete();
    StepVerifier.create(heat.nextSnapshots().take(1))
        .then(
            () -> {
              for (long step = 6; step < 8; step++) {
                heat.onDispatch(step, 0, false, new int[] {1, 0});
                heat.onStepEnd(step);
              }
              held.runAll();
            })
        .assertNext(
            next -> {
              assertThat(next.fromStep()).isEqualTo(4);
              assertThat(next.toStep()).isEqualTo(8);
              assertThat(next.tokenExpertAssignments()).isEqualTo(2 * 3 + 9 + 2);
            })
        .verifyComplete();
  }

  @Test
  void theOpenWindowOfAFreshStreamIsEmptyAndADisposedOneSaysSo() {
    VirtualTimeScheduler time = VirtualTimeScheduler.create();
    HeatStream heat =
        stream(
            HeatConfig.builder().layers(1).localSlots(3).interval(5).window(10).build(),
            meshes(1).get(0),
            time);
    StepVerifier.create(heat.currentWindow())
        .then(time::advanceTime)
        .assertNext(
            open -> {
              assertThat(open.fromStep()).isZero();
              assertThat(open.toStep()).isZero();
              assertThat(open.tokenExpertAssignments()).isZero();
            })
        .verifyComplete();
    heat.dispose();
    StepVerifier.create(heat.currentWindow()).expectError().verify(Duration.ofSeconds(5));
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
      List<HeatSnapshot> seen = new CopyOnWriteArrayList<>();
      heat.snapshots().subscribe(seen::add);
      SplittableRandom random = new SplittableRandom(3);
      long routed = 0;
      long routedInCompleteWindows = 0;
      int steps = 20_000;
      long windowsEnd = (steps / 7) * 7L;
      int[] counts = new int[4];
      for (long step = 0; step < steps; step++) {
        for (int layer = 0; layer < 3; layer++) {
          for (int s = 0; s < 4; s++) {
            counts[s] = random.nextInt(20);
            routed += counts[s];
            routedInCompleteWindows += step < windowsEnd ? counts[s] : 0;
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
      long inSnapshots = seen.stream().mapToLong(HeatSnapshot::tokenExpertAssignments).sum();
      assertThat(seen).hasSize(steps / 7);
      assertThat(seen.get(seen.size() - 1).toStep()).isEqualTo(windowsEnd);
      // the complete windows hold exactly their steps' counts; the open window keeps the rest
      assertThat(inSnapshots).isEqualTo(routedInCompleteWindows);
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
    Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
    for (RankMesh mesh : group) {
      HeatStream heat =
          stream(
              HeatConfig.builder().layers(2).localSlots(2).interval(5).build(),
              mesh,
              Schedulers.newSingle("heat"));
      heats.add(heat);
      List<HeatSnapshot> mine = new CopyOnWriteArrayList<>();
      heat.snapshots().subscribe(mine::add, failures::add);
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
      main.setUncaughtExceptionHandler((thread, error) -> failures.add(error));
      mains.add(main);
      main.start();
    }
    for (Thread main : mains) {
      main.join(20_000);
      assertThat(main.isAlive()).as("%s finished", main.getName()).isFalse();
    }
    assertThat(failures).isEmpty();
    heats.forEach(HeatStream::flush);
    Flux.interval(Duration.ofMillis(10))
        .takeUntil(tick -> seen.stream().allMatch(list -> list.size() == 100))
        .take(Duration.ofSeconds(10))
        .blockLast(Duration.ofSeconds(30));
    assertThat(seen).allSatisfy(list -> assertThat(list).hasSize(100));
    assertThat(failures).isEmpty();
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
    long total = seen.get(0).stream().mapToLong(HeatSnapshot::tokenExpertAssignments).sum();
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
