package io.moeflux.pipeline.sync;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.TransportKind;
import io.moeflux.transport.testkit.LeakRecorder;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

class DpMetadataSyncTest {
  private List<RankMesh> meshes = List.of();

  @AfterEach
  void close() {
    Flux.fromIterable(meshes).flatMap(RankMesh::leave).blockLast(Duration.ofSeconds(20));
    LeakRecorder.assertNoLeaks();
  }

  @Test
  void everyRankSeesEveryCountTheMaxAndThePrefillFlag() {
    meshes =
        MeshConfigs.startAll(
                MeshConfigs.group(TransportKind.LOCAL, 3, MeshFingerprint.of("model", "f")))
            .block(Duration.ofSeconds(20));
    int[][] counts = {{5, 0, 7}, {0, 0, 0}, {1, 2, 3}};
    boolean[][] prefill = {{false, false, false}, {false, true, false}, {false, false, false}};
    List<DpMetadataSync> syncs = meshes.stream().map(DpMetadataSync::new).toList();
    for (int other = 1; other < 3; other++) {
      int r = other;
      Flux.range(0, 3)
          .concatMap(step -> syncs.get(r).sync(step, counts[step][r], prefill[step][r]))
          .subscribe();
    }
    StepVerifier.create(
            Flux.range(0, 3)
                .concatMap(step -> syncs.get(0).sync(step, counts[step][0], prefill[step][0])))
        .assertNext(
            m -> {
              assertThat(m.counts()).containsExactly(5, 0, 7);
              assertThat(m.maxTokens()).isEqualTo(7);
              assertThat(m.withPrefill()).isFalse();
            })
        .assertNext(
            m -> {
              assertThat(m.counts()).containsExactly(0, 0, 0);
              assertThat(m.maxTokens()).isZero();
              assertThat(m.withPrefill()).isTrue();
            })
        .assertNext(
            m -> {
              assertThat(m.totalTokens()).isEqualTo(6);
              assertThat(m.maxTokens()).isEqualTo(3);
            })
        .expectComplete()
        .verify(Duration.ofSeconds(20));
  }

  @Test
  void ranksThatDecideDifferentlyRefuseToStart() {
    meshes =
        MeshConfigs.startAll(
                MeshConfigs.group(TransportKind.LOCAL, 2, MeshFingerprint.of("model", "f")))
            .block(Duration.ofSeconds(20));
    SyncDecision skip = SyncDecision.decide(SyncOptions.decodeOnly(), 8);
    SyncDecision run = SyncDecision.decide(SyncOptions.mixed(), 8);
    StepVerifier.create(
            Flux.merge(
                DpMetadataSync.agree(meshes.get(0), skip),
                DpMetadataSync.agree(meshes.get(1), run)))
        .expectErrorSatisfies(
            error ->
                assertThat(error)
                    .hasMessageContaining("DP metadata sync")
                    .hasMessageContaining("every rank must make the same decision"))
        .verify(Duration.ofSeconds(20));
  }
}
