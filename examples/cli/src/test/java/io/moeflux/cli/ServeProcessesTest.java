package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.moeflux.cli.serve.ServeClient;
import io.moeflux.cli.serve.ServingRanks;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve --rank} processes on loopback, each answering its own clients. */
class ServeProcessesTest {
  private static final int PEER_TIMEOUT_SECONDS = 3;
  private static final List<String> JVM =
      List.of("--add-modules", "jdk.incubator.vector", "-Xmx128m", "-XX:+UseSerialGC");
  // skewed routing and room for replicas, so that the ranks rebalance while they serve
  private static final List<String> OPTIONS =
      List.of(
          "--gate-skew",
          "2.5",
          "--redundant-slots",
          "4",
          "--hidden",
          "32",
          "--max-tokens",
          "8",
          "--interval",
          "16",
          "--check",
          "--peer-timeout",
          Integer.toString(PEER_TIMEOUT_SECONDS));

  @TempDir Path dir;

  @Test
  void busyRanksAndAnIdleOneServeCheckedStepsThenALostRankIsNamedAndARestartServesAgain()
      throws Exception {
    ServingRanks first = new ServingRanks(dir.resolve("first"), 3, JVM, OPTIONS);
    try (ServingRanks ranks = first) {
      List<ServeClient> clients = new ArrayList<>();
      try {
        for (int r = 0; r < 3; r++) {
          clients.add(new ServeClient(r, ranks.clientPort(r), 4, r));
        }
        clients.get(0).start(60);
        clients.get(1).start(20);
        Thread.sleep(2500);
        clients.forEach(ServeClient::stop);
        awaitAnswered(clients);
        assertThat(clients.get(0).answered()).isPositive();
        assertThat(clients.get(1).answered()).isPositive();
        List<JsonNode> status = new ArrayList<>();
        for (ServeClient client : clients) {
          status.add(client.status());
        }
        long steps = status.get(0).get("step").asLong();
        assertThat(steps).isGreaterThan(16); // past a placement switch
        for (int r = 0; r < 3; r++) {
          JsonNode rank = status.get(r);
          assertThat(rank.get("rank").asInt()).isEqualTo(r);
          assertThat(rank.get("world").asInt()).isEqualTo(3);
          assertThat(rank.get("ranks").asInt()).isEqualTo(3);
          assertThat(rank.get("state").asText()).isEqualTo("serving");
          assertThat(rank.get("step").asLong()).isEqualTo(steps);
          assertThat(rank.get("check_mismatches").asLong()).isZero();
          assertThat(rank.get("requests_served").asLong()).isEqualTo(clients.get(r).answered());
        }
        assertThat(status.get(2).get("requests_served").asLong()).isZero();
        // heat, plans, migration and switches across processes: every rank switched alike
        assertThat(status.get(0).get("rebalances").asLong()).isPositive();
        for (JsonNode rank : status) {
          assertThat(rank.get("rebalances")).isEqualTo(status.get(0).get("rebalances"));
          assertThat(rank.get("placement_version"))
              .isEqualTo(status.get(0).get("placement_version"));
        }

        clients.get(0).start(40);
        clients.get(1).start(20);
        Thread.sleep(500);
        long killed = System.nanoTime();
        ranks.process(2).kill();
        Thread.sleep(TimeUnit.SECONDS.toMillis(2L * PEER_TIMEOUT_SECONDS));
        clients.forEach(ServeClient::stop);
        awaitAnswered(clients.subList(0, 2));
        for (ServeClient client : clients.subList(0, 2)) {
          assertThat(client.firstRefusal()).contains("rank 2");
          assertThat(client.firstRefusalNanos() - killed)
              .isLessThan(TimeUnit.SECONDS.toNanos(2L * PEER_TIMEOUT_SECONDS));
          assertThat(client.outstanding()).isZero();
          assertThat(client.status().get("state").asText()).isEqualTo("failed");
        }
      } finally {
        clients.forEach(ServeClient::dispose);
      }
    }
    // the whole group restarted, on the same ports, serves again
    try (ServingRanks again = new ServingRanks(dir.resolve("again"), first, JVM, OPTIONS)) {
      ServeClient client = new ServeClient(2, again.clientPort(2), 4, 17);
      try {
        client.start(30);
        Thread.sleep(1000);
        client.stop();
        awaitAnswered(List.of(client));
        assertThat(client.answered()).isPositive();
        assertThat(client.refused()).isZero();
        assertThat(client.status().get("state").asText()).isEqualTo("serving");
      } finally {
        client.dispose();
      }
    }
  }

  @Test
  void onSigtermRanksAnswerWhatTheyHoldAndLeaveTogether() throws Exception {
    ServingRanks ranks = new ServingRanks(dir, 2, JVM, OPTIONS);
    ServeClient client = new ServeClient(0, ranks.clientPort(0), 4, 9);
    try {
      client.start(50);
      Thread.sleep(1000);
      client.stop();
      ranks.close();
      assertThat(client.outstanding()).isZero();
      for (int r = 0; r < 2; r++) {
        assertThat(ranks.process(r).isAlive()).isFalse();
        assertThat(ranks.process(r).output())
            .contains("rank " + r + ": draining", "rank " + r + ": left the group");
      }
    } finally {
      client.dispose();
      ranks.close();
    }
  }

  @Test
  void aCheckpointIsServedAcrossProcessesEachRequestRunningItsLayer() throws Exception {
    Path model = dir.resolve("qwen2");
    // MoE layers 0 and 2 (layer 1 is dense): step s runs MoE layer s mod 2
    CheckpointGenerator.builder(ModelFamily.QWEN2_MOE)
        .hidden(16)
        .experts(6)
        .decoderLayers(3)
        .mlpOnlyLayers(1)
        .build()
        .write(model);
    List<String> options =
        List.of(
            "--model",
            model.toString(),
            "--max-tokens",
            "8",
            "--check",
            "--peer-timeout",
            Integer.toString(PEER_TIMEOUT_SECONDS));
    try (ServingRanks ranks = new ServingRanks(dir.resolve("ranks"), 2, JVM, options)) {
      ServeClient client = new ServeClient(0, ranks.clientPort(0), 4, 5, new int[] {0, 2});
      try {
        client.start(40);
        Thread.sleep(1500);
        client.stop();
        awaitAnswered(List.of(client));
        assertThat(client.answered()).isPositive();
        assertThat(client.refused()).isZero();
        JsonNode status = client.status();
        assertThat(status.get("check_mismatches").asLong()).isZero();
        assertThat(status.get("requests_served").asLong()).isEqualTo(client.answered());
      } finally {
        client.dispose();
      }
    }
  }

  private static void awaitAnswered(List<ServeClient> clients) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (clients.stream().anyMatch(c -> c.outstanding() > 0) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }
}
