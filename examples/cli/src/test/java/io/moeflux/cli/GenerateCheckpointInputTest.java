package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.moeflux.cli.forward.HiddenStatesFile;
import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.reference.TieFreeCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate-checkpoint --input}: hidden states on which the checkpoint routes without
 * near-ties.
 */
class GenerateCheckpointInputTest {
  @TempDir Path dir;
  final CliRun cli = new CliRun();

  @Test
  void aCheckpointWithInputsThatRouteWithoutNearTies() throws Exception {
    Path model = dir.resolve("ds");
    Path input = dir.resolve("in.safetensors");
    assertThat(
            cli.run(
                "generate-checkpoint",
                "--family",
                "deepseek_v3",
                "--out",
                model.toString(),
                "--layers",
                "3",
                "--dtype",
                "F8_E4M3",
                "--hidden",
                "160",
                "--shards",
                "2",
                "--input",
                input.toString(),
                "--tokens",
                "20",
                "--input-dtype",
                "BF16"))
        .as(cli.err())
        .isZero();
    JsonNode json = cli.lastLine();
    assertThat(json.get("min_selection_gap").asDouble()).isGreaterThanOrEqualTo(1e-3);
    assertThat(json.get("moe_layers").asInt()).isEqualTo(2);
    assertThat(Files.exists(model.resolve(Checkpoint.INDEX))).isTrue();
    HiddenStatesFile in = HiddenStatesFile.read(input, 160);
    assertThat(in.tokens()).isEqualTo(20);
    assertThat(TieFreeCheckpoint.smallestGap(model, in.values(), 20))
        .isEqualTo(json.get("min_selection_gap").asDouble());
    try (Checkpoint c = Checkpoint.open(model)) {
      assertThat(c.tensor("model.layers.1.mlp.experts.0.up_proj.weight").dtype())
          .isEqualTo("F8_E4M3");
      assertThat(json.get("seed").asLong()).isPositive();
    }
  }
}
