package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code examples/scripts/partition-netns.sh}: 4 rank processes in 4 network namespaces, one rank's
 * link taken down; every survivor must exit non-zero naming the lost rank within twice the peer
 * timeout. Then 4 serving ranks, idle, the same link down: every survivor stays up and says on
 * /status that the group failed, naming the lost rank, within twice the peer timeout. It needs root
 * on Linux (network namespaces), and is skipped with the reason elsewhere.
 */
class PartitionNetnsTest {
  @TempDir Path dir;

  @Test
  void survivorsOfAPartitionNameTheLostRankWithinTwiceThePeerTimeout() throws Exception {
    assumeTrue(
        System.getProperty("os.name").toLowerCase().contains("linux"),
        "network namespaces are Linux only");
    assumeTrue(runs("id", "-u").equals("0"), "network namespaces need root");
    assumeTrue(!runs("ip", "netns", "list").startsWith("!"), "the ip tool is not installed");
    Path script = Path.of("..", "scripts", "partition-netns.sh").toAbsolutePath().normalize();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder builder =
        new ProcessBuilder("bash", script.toString(), "--peer-timeout", "4")
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("partition.out").toFile());
    builder
        .environment()
        .put(
            "MOEFLUX_CMD",
            String.join(
                " ",
                java,
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                MoefluxCommand.class.getName()));
    Process process = builder.start();
    boolean finished = process.waitFor(5, TimeUnit.MINUTES);
    if (!finished) {
      process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    List<String> lines = Files.readAllLines(dir.resolve("partition.out"), StandardCharsets.UTF_8);
    String output = String.join("\n", lines);
    System.out.println(output);
    assertThat(finished).as(output).isTrue();
    assertThat(process.exitValue()).as(output).isZero();
    assertThat(lines.get(lines.size() - 1))
        .contains("\"passed\":true")
        .contains("\"survivors_named_lost_rank\":true")
        .contains("\"serve_named_lost_rank\":true")
        .contains("\"serve_ranks_up\":true")
        .contains("\"max_detection_s\":");
  }

  /** What a command prints, trimmed; "!" and the error when it cannot run. */
  private static String runs(String... command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      process.waitFor(10, TimeUnit.SECONDS);
      return process.exitValue() == 0 ? out.trim() : "!" + out.trim();
    } catch (IOException | InterruptedException e) {
      return "!" + e;
    }
  }
}
