package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.transport.tcp.TcpMeshTransport;
import io.moeflux.transport.testkit.TestCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ranks as separate processes on loopback, the way {@code examples/scripts/run-ranks.sh} runs them.
 */
class RankProcessesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  private List<Process> startRanks(int world, int steps, String... extra) throws Exception {
    Path secret = dir.resolve("secret");
    Files.writeString(secret, "a secret only these ranks hold\n", StandardCharsets.UTF_8);
    List<String> addresses = TcpMeshTransport.loopback(world).addresses();
    String peers = String.join(",", addresses);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<Process> ranks = new ArrayList<>();
    for (int r = 0; r < world; r++) {
      ProcessBuilder builder =
          new ProcessBuilder(
              java,
              "-Xmx256m",
              "--add-modules",
              "jdk.incubator.vector",
              "-cp",
              System.getProperty("java.class.path"),
              MoefluxCommand.class.getName(),
              "rank",
              "--steps",
              "" + steps,
              "--hidden",
              "32",
              "--max-tokens",
              "4",
              "--peer-timeout",
              "5");
      builder.command().addAll(List.of(extra));
      builder.environment().put("MOEFLUX_RANK", "" + r);
      builder.environment().put("MOEFLUX_WORLD_SIZE", "" + world);
      builder.environment().put("MOEFLUX_PEERS", peers);
      builder.environment().put("MOEFLUX_SECRET_FILE", secret.toString());
      builder.redirectOutput(dir.resolve("rank-" + r + ".out").toFile());
      builder.redirectError(dir.resolve("rank-" + r + ".err").toFile());
      ranks.add(builder.start());
    }
    return ranks;
  }

  private String out(int rank) throws Exception {
    return Files.readString(dir.resolve("rank-" + rank + ".out"), StandardCharsets.UTF_8);
  }

  private String err(int rank) throws Exception {
    return Files.readString(dir.resolve("rank-" + rank + ".err"), StandardCharsets.UTF_8);
  }

  @Test
  void threeRankProcessesServeACheckpointAndCheckTheirOutputsBitwise() throws Exception {
    Path model = dir.resolve("deepseek");
    CheckpointGenerator.builder(ModelFamily.DEEPSEEK_V3)
        .hidden(32)
        .decoderLayers(3)
        .shards(2)
        .build()
        .write(model);
    List<Process> ranks = startRanks(3, 12, "--model", model.toString());
    for (int r = 0; r < 3; r++) {
      assertThat(ranks.get(r).waitFor(120, TimeUnit.SECONDS)).as("rank %d finished", r).isTrue();
      assertThat(ranks.get(r).exitValue()).as("rank %d: %s", r, err(r)).isZero();
      assertThat(out(r))
          .contains("model: deepseek_v3 checkpoint")
          .contains("memory rank " + r + ": 6 routed expert slots");
      String[] lines = out(r).trim().split("\n");
      assertThat(lines[lines.length - 1]).contains("\"steps\":12").contains("\"mismatches\":0");
    }
  }

  /**
   * Four rank processes with skewed routing and rebalancing on: each checks its outputs against the
   * reference bit for bit under the placements it had in force, and prints a digest of its switch
   * history; every digest is the same, and there were switches to compare.
   */
  @Test
  void fourRankProcessesCheckTheirOutputsAndSwitchAtTheSameSteps() throws Exception {
    List<Process> ranks =
        startRanks(4, 80, "--interval", "16", "--gate-skew", "2.5", "--redundant-slots", "4");
    List<JsonNode> last = new ArrayList<>();
    for (int r = 0; r < 4; r++) {
      assertThat(ranks.get(r).waitFor(120, TimeUnit.SECONDS)).as("rank %d finished", r).isTrue();
      assertThat(ranks.get(r).exitValue()).as("rank %d: %s", r, err(r)).isZero();
      String[] lines = out(r).trim().split("\n");
      JsonNode json = JSON.readTree(lines[lines.length - 1]);
      assertThat(json.get("rank").asInt()).isEqualTo(r);
      assertThat(json.get("steps").asInt()).isEqualTo(80);
      assertThat(json.get("mismatches").asLong()).isZero();
      assertThat(json.get("bitwise_equal").asLong()).isEqualTo(80);
      last.add(json);
    }
    assertThat(last.get(0).get("switches").asInt()).isPositive();
    assertThat(last)
        .extracting(json -> json.get("history_digest").asText())
        .containsOnly(last.get(0).get("history_digest").asText());
  }

  @Test
  void runningOutOfMemoryEndsTheCommandAtOnceSayingSo() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process verify =
        new ProcessBuilder(
                java,
                "-Xmx96m",
                // room for the frames: the heap, not direct memory, is what runs out
                "-XX:MaxDirectMemorySize=1g",
                "-cp",
                System.getProperty("java.class.path"),
                MoefluxCommand.class.getName(),
                "verify",
                "--ranks",
                "2",
                "--max-tokens",
                "2048",
                "--hidden",
                "2048",
                "--steps",
                "3")
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("oom.out").toFile())
            .start();
    // not the two-minute timeout of a result that never comes (the message below tells the two
    // apart; the margin is for a machine busy with other work, where the heap runs out slowly)
    assertThat(verify.waitFor(100, TimeUnit.SECONDS)).isTrue();
    assertThat(verify.exitValue()).isEqualTo(1);
    assertThat(Files.readString(dir.resolve("oom.out")))
        .contains("moeflux: out of memory in thread");
  }

  @Test
  void twoRankProcessesOverMutualTls() throws Exception {
    TestCertificates authority = TestCertificates.authority(dir, "group CA");
    authority.issue("rank");
    List<Process> ranks =
        startRanks(
            2,
            10,
            "--tls-cert",
            dir.resolve("rank.crt").toString(),
            "--tls-key",
            dir.resolve("rank.key").toString(),
            "--tls-ca",
            authority.certificate().toString(),
            "--tls-mutual");
    for (int r = 0; r < 2; r++) {
      assertThat(ranks.get(r).waitFor(120, TimeUnit.SECONDS)).as("rank %d finished", r).isTrue();
      assertThat(ranks.get(r).exitValue()).as("rank %d: %s", r, err(r)).isZero();
      assertThat(out(r)).contains("\"mismatches\":0").contains("\"steps\":10");
    }
  }

  @Test
  void killingOneRankFailsTheOthersWithAClearErrorWithinTenSeconds() throws Exception {
    List<Process> ranks = startRanks(4, 1_000_000);
    // wait until every rank is stepping
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline && !allStepping(ranks)) {
      Thread.sleep(200);
    }
    ranks.get(3).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    long killed = System.nanoTime();
    for (int r = 0; r < 3; r++) {
      assertThat(ranks.get(r).waitFor(10, TimeUnit.SECONDS)).as("rank %d exited", r).isTrue();
      assertThat(ranks.get(r).exitValue()).isNotZero();
      assertThat(err(r)).contains("rank 3");
    }
    assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed)).isLessThanOrEqualTo(10);
  }

  /** Every rank alive and past start-up: each prints "mesh up" once its mesh is complete. */
  private boolean allStepping(List<Process> ranks) throws Exception {
    for (int r = 0; r < ranks.size(); r++) {
      if (!ranks.get(r).isAlive() || !out(r).contains("mesh up")) {
        return false;
      }
    }
    return true;
  }
}
