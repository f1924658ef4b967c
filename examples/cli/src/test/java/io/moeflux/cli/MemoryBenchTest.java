package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeflux.cli.bench.ResidentMemory;
import io.moeflux.pipeline.checkpoint.CheckpointGenerator;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading maps instead of reading, measured: a process that loads one rank's share of a checkpoint
 * grows its resident memory by what it holds, not by the size of the files. Each measurement runs
 * in a fresh JVM with a small young generation, so the heap's own slack stays small next to the
 * figures compared (the full-size measurement, on a 1.1 GiB checkpoint, is in the README).
 */
class MemoryBenchTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private JsonNode measure(Path model, int ranks) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path output = dir.resolve("memory-" + ranks + ".out");
    Process process =
        new ProcessBuilder(
                java,
                "-Xmx512m",
                "-Xmn16m",
                "-cp",
                System.getProperty("java.class.path"),
                MoefluxCommand.class.getName(),
                "bench",
                "memory",
                "--model",
                model.toString(),
                "--ranks",
                "" + ranks,
                "--json")
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
    assertThat(process.exitValue()).as(String.join("\n", lines)).isZero();
    return JSON.readTree(lines.get(lines.size() - 1));
  }

  @Test
  void aRanksResidentMemoryGrowsWithTheExpertsItHoldsNotWithTheFileSize() throws Exception {
    assumeTrue(ResidentMemory.available(), "resident memory is read from /proc (Linux)");
    Path model = dir.resolve("model");
    // 64 experts of 0.75 MiB (bf16) in 2 files: 48 MiB
    CheckpointGenerator.builder(ModelFamily.QWEN3_MOE)
        .hidden(512)
        .intermediate(256)
        .experts(16)
        .topK(4)
        .decoderLayers(4)
        .shards(2)
        .build()
        .write(model);
    JsonNode all = measure(model, 1);
    JsonNode eighth = measure(model, 8);
    // started without --add-modules jdk.incubator.vector: the scalar fallback packed the experts
    assertThat(all.get("kernel").asText()).isEqualTo("scalar-fma-v1");
    long file = all.get("file_bytes").asLong();
    assertThat(file).isGreaterThan(48L << 20);

    // what is held is on the heap, nothing else is
    for (JsonNode m : List.of(all, eighth)) {
      long held = m.get("held_bytes").asLong();
      assertThat(m.get("heap_growth").asLong()).isBetween(held, held + (4L << 20));
    }
    assertThat(eighth.get("held_bytes").asLong()).isLessThan(file / 7);
    // holding everything costs at least the bytes held; holding an eighth costs far less than
    // the files, at the end and at the peak
    assertThat(all.get("rss_growth").asLong())
        .isGreaterThan(all.get("held_bytes").asLong() * 9 / 10);
    assertThat(eighth.get("rss_growth").asLong()).isLessThan(file / 3);
    assertThat(eighth.get("hwm_after").asLong() - eighth.get("rss_before").asLong())
        .isLessThan(file / 3);
  }
}
