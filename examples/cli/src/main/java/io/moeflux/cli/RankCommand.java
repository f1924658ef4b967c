package io.moeflux.cli;

import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.model.ReferenceModel;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.tcp.TcpMeshTransport;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * One rank as its own process, on this host or another: joins the mesh, runs the seeded workload of
 * {@code verify} for its rank, and checks its own outputs against the reference.
 */
@Command(name = "rank", mixinStandardHelpOptions = true)
final class RankCommand implements Callable<Integer> {
  private static final Duration LINGER_AFTER_FAILURE = Duration.ofSeconds(1);

  @Spec CommandSpec spec;

  @Option(names = "--rank", defaultValue = "${env:MOEFLUX_RANK}")
  @Nullable Integer rank;

  @Option(names = "--world", defaultValue = "${env:MOEFLUX_WORLD_SIZE}")
  @Nullable Integer world;

  @Option(names = "--peers", defaultValue = "${env:MOEFLUX_PEERS}")
  @Nullable String peers;

  @Mixin WorkloadOptions run = new WorkloadOptions();

  @Option(names = "--connect-timeout")
  int connectTimeoutSeconds = 60;

  @Option(names = "--peer-timeout")
  int peerTimeoutSeconds = 8;

  @Option(names = "--check", negatable = true, defaultValue = "true", fallbackValue = "true")
  boolean checkOutputs = true;

  @Mixin ModelOptions model = new ModelOptions();
  @Mixin CheckpointOption checkpoint = new CheckpointOption();

  @Override
  public Integer call() {
    try (CheckpointOption opened = checkpoint) {
      return run();
    }
  }

  private int run() {
    PrintWriter out = spec.commandLine().getOut();
    if (rank == null || world == null || peers == null || peers.isBlank()) {
      throw new IllegalArgumentException(
          "--rank, --world and --peers are required (or MOEFLUX_RANK, MOEFLUX_WORLD_SIZE,"
              + " MOEFLUX_PEERS)");
    }
    List<String> addresses = Arrays.stream(peers.split(",")).map(String::trim).toList();
    if (addresses.size() != world) {
      throw new IllegalArgumentException(
          "--peers lists " + addresses.size() + " addresses for a world of " + world);
    }
    PipelineConfig config = checkpoint.pipeline(model, world);
    MeshConfig mesh =
        MeshConfig.builder()
            .rank(rank)
            .worldSize(world)
            .transport(TcpMeshTransport.of(addresses))
            .connectTimeout(Duration.ofSeconds(connectTimeoutSeconds))
            .phaseTimeout(Duration.ofSeconds(peerTimeoutSeconds))
            .keepAlive(Duration.ofSeconds(1), Duration.ofSeconds(peerTimeoutSeconds))
            .build();
    int steps = run.steps;
    SyntheticWorkload workload = run.workload(model, config.model().hidden());
    OutputCheck check = checkpoint.given() ? OutputCheck.bitwise() : new OutputCheck();
    long started = System.nanoTime();
    MoeRank moe = MoeRank.start(mesh, config).block(Duration.ofSeconds(connectTimeoutSeconds + 10));
    out.printf("rank %d of %d: mesh up, running %d steps%n", rank, world, steps);
    if (checkpoint.given()) {
      out.println("model: " + config.model().describe());
      out.println("memory " + moe.status().memory().describe());
    }
    out.flush();
    try {
      // the single-process path loads every expert it routes to: --no-check keeps this process
      // to its own share
      @Nullable ReferenceModel reference =
          checkOutputs ? new ReferenceModel(config.model(), config.initialPlacement(world)) : null;
      moe.forward(workload.batches(rank, 0, steps))
          .doOnNext(
              actual -> {
                if (reference == null) {
                  check.count(actual);
                } else {
                  check.compare(rank, actual, reference, workload);
                }
              })
          .blockLast(Duration.ofMinutes(30));
      moe.close().block(Duration.ofSeconds(peerTimeoutSeconds + 10));
    } catch (RuntimeException failure) {
      lingerAfterFailure();
      throw failure;
    } finally {
      moe.dispose();
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    out.printf(
        "rank %d of %d: %d steps, %d tokens, %d mismatches, max |diff| %.3g, %.1f s%n",
        rank,
        world,
        check.outputs(),
        check.tokens(),
        check.mismatches(),
        check.maxAbsDiff(),
        seconds);
    out.println(
        new JsonLine()
            .put("rank", rank)
            .put("world", world)
            .put("steps", check.outputs())
            .put("tokens", check.tokens())
            .put("mismatches", check.mismatches())
            .put("max_abs_diff", check.maxAbsDiff())
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
