package io.moeflux.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeflux.cli.memory.MemoryPlan;
import io.moeflux.pipeline.checkpoint.CheckpointException;
import io.moeflux.pipeline.checkpoint.HfModelConfig;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The weight memory per rank of a checkpoint for several rank counts, from config.json alone. */
@Command(name = "memory", mixinStandardHelpOptions = true)
final class MemoryCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Option(names = "--config", required = true)
  Path config;

  @Option(names = "--ranks", split = ",")
  int[] ranks = {2, 4, 8};

  @Option(names = "--redundant-slots")
  int redundantSlots = 0;

  @Option(names = "--dtype")
  @Nullable TensorDtype dtype;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    Path file = Files.isDirectory(config) ? config.resolve("config.json") : config;
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such file", e);
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read (" + e.getMessage() + ")", e);
    }
    HfModelConfig model;
    try {
      model = HfModelConfig.parse(bytes, file.toString());
    } catch (CheckpointException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    TensorDtype weights = dtype != null ? dtype : storedDtype(bytes);
    out.printf(
        "%s, %d MoE layers, %d experts of %d x %d, top-%d, %s weights, %d redundant slots%n%n",
        model.family().modelType(),
        model.moeLayers().length,
        model.experts(),
        model.hidden(),
        model.expertIntermediate(),
        model.topK(),
        weights,
        redundantSlots);
    out.println(
        "| ranks | routed experts per rank per layer | routed experts | routers | shared experts"
            + " | total per rank |");
    out.println("|---|---|---|---|---|---|");
    StringBuilder json = new StringBuilder();
    for (int r : ranks) {
      MemoryPlan plan = MemoryPlan.of(model, weights, r, redundantSlots);
      out.printf(
          Locale.ROOT,
          "| %d | %d | %s | %s | %s | %s |%n",
          r,
          plan.slotsPerLayer(),
          gib(plan.routedBytes()),
          gib(plan.routerBytes()),
          gib(plan.sharedBytes()),
          gib(plan.totalBytes()));
      json.append(
              new JsonLine()
                  .put("model_type", model.family().modelType())
                  .put("ranks", r)
                  .put("slots_per_layer", plan.slotsPerLayer())
                  .put("routed_bytes", plan.routedBytes())
                  .put("router_bytes", plan.routerBytes())
                  .put("shared_bytes", plan.sharedBytes())
                  .put("total_bytes", plan.totalBytes()))
          .append('\n');
    }
    out.println();
    out.print(json);
    out.flush();
    return 0;
  }

  /** The dtype the weights are held in: torch_dtype, F8_E4M3 held as bf16; BF16 if unnamed. */
  private static TensorDtype storedDtype(byte[] config) {
    try {
      JsonNode torchDtype = JSON.readTree(config).get("torch_dtype");
      if (torchDtype == null || !torchDtype.isTextual()) {
        return TensorDtype.BF16;
      }
      switch (torchDtype.asText()) {
        case "float32":
          return TensorDtype.F32;
        case "float16":
          return TensorDtype.F16;
        default:
          return TensorDtype.BF16;
      }
    } catch (IOException e) {
      return TensorDtype.BF16;
    }
  }

  private static String gib(long bytes) {
    if (bytes < (1L << 30)) {
      return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
    return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
  }
}
