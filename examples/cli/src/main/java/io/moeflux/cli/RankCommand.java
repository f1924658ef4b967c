package io.moeflux.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.placement.PlacementHistory;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.serving.BalancedRank;
import io.moeflux.transport.MeshConfig;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import reactor.core.Disposable;

/**
 * One rank as its own process, on this host or another: joins the mesh, runs the seeded workload of
 * {@code verify} for its rank, checks its own outputs against the reference bit for bit, and prints
 * a digest of its placement-switch history, for comparing with the other ranks'.
 */
@Command(name = "rank", mixinStandardHelpOptions = true)
final class RankCommand implements Callable<Integer> {
  private static final Duration LINGER_AFTER_FAILURE = Duration.ofSeconds(1);

  @Spec CommandSpec spec;

  @Mixin RankMeshOptions mesh = new RankMeshOptions();

  @Mixin WorkloadOptions run = new WorkloadOptions();

  @Option(names = "--check", negatable = true, defaultValue = "true", fallbackValue = "true")
  boolean checkOutputs = true;

  @Option(names = "--interval")
  int interval = 0;

  @Mixin ModelOptions model = new ModelOptions();
  @Mixin CheckpointOption checkpoint = new CheckpointOption();
  @Mixin SecretOptions secret = new SecretOptions();
  @Mixin TlsOptions tls = new TlsOptions();

  @Override
  public Integer call() {
    try (CheckpointOption opened = checkpoint) {
      return run();
    }
  }

  private int run() {
    PrintWriter out = spec.commandLine().getOut();
    MeshConfig meshConfig = mesh.mesh(secret.secret(), tls.config());
    int rank = mesh.rank();
    int world = mesh.world();
    if (interval < 0) {
      throw new IllegalArgumentException("--interval must be >= 0, got " + interval);
    }
    model.defaultOverlap = mesh.defaultOverlap(model.maxTokens);
    PipelineConfig config = checkpoint.pipeline(model, world);
    if (interval > 0) {
      config = GroupOptions.switchingEvery(config, interval);
    }
    int steps = run.steps;
    SyntheticWorkload workload = run.workload(model, config.model().hidden());
    OutputCheck check = new OutputCheck();
    long started = System.nanoTime();
    Duration startTimeout = mesh.connectTimeout().plusSeconds(10);
    MoeRank moe;
    Disposable running;
    if (interval > 0) {
      BalancedRank balanced =
          BalancedRank.start(meshConfig, config, new SimpleMeterRegistry()).block(startTimeout);
      moe = balanced.rank();
      running = balanced;
    } else {
      moe = MoeRank.start(meshConfig, config).block(startTimeout);
      running = moe;
    }
    out.printf("rank %d of %d: mesh up, running %d steps%n", rank, world, steps);
    if (checkpoint.given()) {
      out.println("model: " + config.model().describe());
      out.println("memory " + moe.status().memory().describe());
    }
    out.flush();
    PlacementHistory history;
    try {
      // the single-process path loads every expert it routes to: --no-check keeps this process
      // to its own share
      @Nullable PlacementReferences references =
          checkOutputs ? new PlacementReferences(config.model(), config.wire()) : null;
      AtomicLong nextStep = new AtomicLong();
      moe.forward(workload.batches(rank, 0, steps))
          .doOnNext(
              actual -> {
                long step = nextStep.getAndIncrement();
                if (references == null) {
                  check.count(actual);
                } else {
                  check.compare(
                      step, rank, actual, references.at(moe.placementHistory(), step), workload);
                }
              })
          .blockLast(Duration.ofMinutes(30));
      moe.close().block(mesh.peerTimeout().plusSeconds(10));
      history = moe.placementHistory();
    } catch (RuntimeException failure) {
      lingerAfterFailure();
      throw failure;
    } finally {
      running.dispose();
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    out.printf(
        "rank %d of %d: %d steps, %d tokens, %d mismatches, max |diff| %.3g (weights %.3g), %d top-k"
            + " ids differ, %d switches (history %s), %.1f s%n",
        rank,
        world,
        check.outputs(),
        check.tokens(),
        check.mismatches(),
        check.maxAbsDiff(),
        check.maxWeightDiff(),
        check.topkIdDifferences(),
        history.switches(),
        history.digest(),
        seconds);
    JsonLine json =
        new JsonLine().put("rank", rank).put("world", world).put("steps", check.outputs());
    check.putInto(json);
    out.println(
        json.put("switches", history.switches())
            .put("history_digest", history.digest())
            .put("wire", config.wire().label())
            .put("seconds", Math.round(seconds * 10) / 10.0));
    out.flush();
    return check.mismatches() == 0 && check.outputs() == steps ? 0 : 1;
  }

  /**
   * Keeps a failed rank's connections open a moment before the process exits. When one rank dies,
   * every survivor fails; were a survivor to exit at once, a slower peer could see that survivor's
   * connection close before the dead rank's, and blame the wrong rank.
   */
  private static void lingerAfterFailure() {
    try {
      Thread.sleep(LINGER_AFTER_FAILURE.toMillis());
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
