package io.moeflux.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.serving.BalancedGroup;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;

/**
 * Runs a rank group in this JVM on random per-rank token counts and checks every output against the
 * single-process reference, bit for bit, and every rank's placement-switch history against the
 * others'.
 */
@Command(name = "verify", mixinStandardHelpOptions = true)
final class VerifyCommand extends GroupCommand {
  @Mixin WorkloadOptions run = new WorkloadOptions();
  @Mixin CheckpointOption checkpoint = new CheckpointOption();

  @Option(names = "--interval")
  int interval = 0;

  @Option(names = "--flip-bit", hidden = true)
  @Nullable String flipBit;

  @Override
  public Integer call() {
    try (CheckpointOption opened = checkpoint) {
      return verify();
    }
  }

  private int verify() {
    PrintWriter out = out();
    if (interval < 0) {
      throw new IllegalArgumentException("--interval must be >= 0, got " + interval);
    }
    PipelineConfig config = checkpoint.pipeline(group.model, group.ranks);
    if (interval > 0) {
      config = GroupOptions.switchingEvery(config, interval);
    }
    MoeModel model = config.model();
    int steps = run.steps;
    SyntheticWorkload workload = run.workload(group.model, model.hidden());
    OutputFault fault = flipBit == null ? null : OutputFault.parse(flipBit);
    OutputCheck check = new OutputCheck();
    long started = System.nanoTime();
    MoeGroup moe;
    Disposable running;
    if (interval > 0) {
      BalancedGroup balanced =
          BalancedGroup.start(group.ranks, group.transport, config, new SimpleMeterRegistry())
              .block(Duration.ofMinutes(10));
      moe = balanced.group();
      running = balanced;
    } else {
      moe = MoeGroup.start(group.ranks, group.transport, config).block(Duration.ofMinutes(10));
      running = moe;
    }
    HistoryCheck histories;
    try {
      if (checkpoint.given()) {
        printMemory(moe);
      }
      PlacementReferences references = new PlacementReferences(model, config.wire());
      List<Flux<TokenBatch>> inputs = new ArrayList<>();
      for (int r = 0; r < group.ranks; r++) {
        inputs.add(workload.batches(r, 0, steps));
      }
      AtomicLong nextStep = new AtomicLong();
      moe.forward(inputs)
          .doOnNext(
              outputs -> {
                long step = nextStep.getAndIncrement();
                for (int r = 0; r < outputs.size(); r++) {
                  TokenBatch actual =
                      fault == null ? outputs.get(r) : fault.apply(r, outputs.get(r));
                  check.compare(
                      step,
                      r,
                      actual,
                      references.at(moe.rank(r).placementHistory(), step),
                      workload);
                }
              })
          .blockLast(Duration.ofMinutes(30));
      moe.close().block(Duration.ofSeconds(30));
      histories = HistoryCheck.of(moe.ranks().stream().map(MoeRank::placementHistory).toList());
    } finally {
      running.dispose();
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    if (fault != null) {
      out.printf("fault injected: %s%n", fault.where() == null ? "nowhere" : fault.where());
    }
    out.printf(
        "verified %d outputs (%d tokens) of %d ranks over %d steps on %s in %.1f s: %d mismatches,"
            + " %d bitwise equal, max |diff| %.3g (weights %.3g), %d top-k ids differ;"
            + " %d switches, %d ranks with a different switch history%n",
        check.outputs(),
        check.tokens(),
        group.ranks,
        steps,
        group.transport,
        seconds,
        check.mismatches(),
        check.bitwiseEqual(),
        check.maxAbsDiff(),
        check.maxWeightDiff(),
        check.topkIdDifferences(),
        histories.switches(),
        histories.differing());
    JsonLine json = new JsonLine().put("ranks", group.ranks).put("steps", steps);
    check.putInto(json);
    histories.putInto(json);
    json.put("transport", group.transport.name())
        .put("wire", config.wire().label())
        .put("overlap", config.overlap().label())
        .put("seconds", Math.round(seconds * 10) / 10.0);
    if (checkpoint.given()) {
      json.put("model", model.fingerprint().get("model")).put("moe_layers", model.layers());
    }
    out.println(json);
    out.flush();
    boolean ok =
        check.mismatches() == 0
            && check.outputs() == (long) steps * group.ranks
            && histories.differing() == 0;
    return ok ? 0 : 1;
  }
}
