package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.TransportKind;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MathSchedulerTest {
  /**
   * Math that keeps every worker of the default expert scheduler busy for longer than the
   * keep-alive lifetime leaves the mesh up: the keep-alive timers run elsewhere.
   */
  @Test
  void longMathOnEveryWorkerDoesNotStarveTheKeepAlives() throws Exception {
    List<MeshConfig> configs =
        MeshConfigs.group(TransportKind.TCP, 2, MeshFingerprint.of("math", "keep-alive")).stream()
            .map(
                c -> c.toBuilder().keepAlive(Duration.ofMillis(50), Duration.ofMillis(400)).build())
            .toList();
    List<RankMesh> meshes = MeshConfigs.startAll(configs).block(Duration.ofSeconds(30));
    try {
      List<CompletableFuture<Void>> closed =
          meshes.stream().map(mesh -> mesh.onClose().toFuture()).toList();
      int workers = Runtime.getRuntime().availableProcessors();
      CountDownLatch busy = new CountDownLatch(workers);
      for (int w = 0; w < workers; w++) {
        MathScheduler.shared()
            .schedule(
                () -> {
                  busy.countDown();
                  sleep(1500);
                });
      }
      assertThat(busy.await(10, TimeUnit.SECONDS)).isTrue();
      Thread.sleep(1600);
      assertThat(closed).noneMatch(CompletableFuture::isDone);
    } finally {
      meshes.forEach(RankMesh::dispose);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
