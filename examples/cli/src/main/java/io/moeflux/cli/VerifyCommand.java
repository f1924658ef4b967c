package io.moeflux.cli;

import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import reactor.core.publisher.Flux;

/**
 * Runs a rank group in this JVM on random per-rank token counts and checks every output against the
 * single-process reference.
 */
@Command(name = "verify", mixinStandardHelpOptions = true)
final class VerifyCommand extends GroupCommand {
  @Mixin WorkloadOptions run = new WorkloadOptions();
  @Mixin CheckpointOption checkpoint = new CheckpointOption();

  @Override
  public Integer call() {
    try (CheckpointOption opened = checkpoint) {
      return verify();
    }
  }

  private int verify() {
    PrintWriter out = out();
    PipelineConfig config = checkpoint.pipeline(group.model, group.ranks);
    MoeModel model = config.model();
    int steps = run.steps;
    SyntheticWorkload workload = run.workload(group.model, model.hidden());
    OutputCheck check = checkpoint.given() ? OutputCheck.bitwise() : new OutputCheck();
    long started = System.nanoTime();
    MoeGroup moe =
        MoeGroup.start(group.ranks, group.transport, config).block(Duration.ofMinutes(10));
    try {
      if (checkpoint.given()) {
        printMemory(moe);
      }
      ReferenceModel reference = new ReferenceModel(model, config.initialPlacement(group.ranks));
      List<Flux<TokenBatch>> inputs = new ArrayList<>();
      for (int r = 0; r < group.ranks; r++) {
        inputs.add(workload.batches(r, 0, steps));
      }
      moe.forward(inputs)
          .doOnNext(
              outputs -> {
                for (int r = 0; r < outputs.size(); r++) {
                  TokenBatch actual = outputs.get(r);
                  check.compare(r, actual, reference, workload);
                }
              })
          .blockLast(Duration.ofMinutes(30));
      moe.close().block(Duration.ofSeconds(30));
    } finally {
      moe.dispose();
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    out.printf(
        "verified %d outputs (%d tokens) of %d ranks over %d steps on %s in %.1f s: %d mismatches,"
            + " %d bitwise equal, max |diff| %.3g%n",
        check.outputs(),
        check.tokens(),
        group.ranks,
        steps,
        group.transport,
        seconds,
        check.mismatches(),
        check.bitwiseEqual(),
        check.maxAbsDiff());
    JsonLine json =
        new JsonLine()
            .put("ranks", group.ranks)
            .put("steps", steps)
            .put("tokens", check.tokens())
            .put("outputs", check.outputs())
            .put("max_abs_diff", check.maxAbsDiff())
            .put("mismatches", check.mismatches())
            .put("bitwise_equal", check.bitwiseEqual())
            .put("transport", group.transport.name())
            .put("seconds", Math.round(seconds * 10) / 10.0);
    if (checkpoint.given()) {
      json.put("model", model.fingerprint().get("model")).put("moe_layers", model.layers());
    }
    out.println(json);
    out.flush();
    return check.mismatches() == 0 && check.outputs() == (long) steps * group.ranks ? 0 : 1;
  }
}
