package io.moeflux.cli;

import io.moeflux.cli.bench.LoadMatrices;
import io.moeflux.eplb.policy.BalancedPolicy;
import io.moeflux.eplb.policy.DeepSeekPolicy;
import io.moeflux.eplb.policy.PlacementPlan;
import io.moeflux.eplb.policy.PlacementProblem;
import io.moeflux.eplb.policy.PlanValidator;
import io.moeflux.eplb.policy.ShareMode;
import io.moeflux.pipeline.kernel.ExpertKernels;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What the placement search's budget costs in wall time: every layer of a DeepSeek-V3-sized model
 * planned at once, against DeepSeek's algorithm on the same loads in the same run.
 */
@Command(name = "eplb", mixinStandardHelpOptions = true)
final class EplbBenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--experts")
  int experts = 256;

  @Option(names = "--ranks")
  int ranks = 32;

  @Option(names = "--layers")
  int layers = 61;

  @Option(names = "--replicas")
  int replicas = 288;

  @Option(names = "--groups")
  int groups = 8;

  @Option(names = "--nodes")
  int nodes = 4;

  @Option(names = "--sigma")
  double sigma = 1.0;

  @Option(names = "--seed")
  long seed = 1;

  @Option(names = "--shares")
  String shares = "weighted";

  @Option(names = "--runs")
  int runs = 3;

  @Option(names = "--warmup")
  int warmup = 1;

  @Option(names = "--json")
  boolean jsonOnly;

  @Override
  public Integer call() {
    if (runs < 1 || warmup < 0) {
      throw new IllegalArgumentException("--runs must be >= 1 and --warmup >= 0");
    }
    PrintWriter out = spec.commandLine().getOut();
    ShareMode mode = RebalanceCommand.shareMode(shares);
    PlacementProblem problem =
        PlacementProblem.builder(LoadMatrices.logNormal(seed, layers, experts, sigma))
            .replicas(replicas)
            .ranks(ranks)
            .groups(groups)
            .nodes(nodes)
            .build();
    BalancedPolicy policy = new BalancedPolicy(mode);
    DeepSeekPolicy deepSeek = new DeepSeekPolicy();
    for (int i = 0; i < warmup; i++) {
      policy.plan(problem);
      deepSeek.plan(problem);
    }
    double[] ours = new double[runs];
    double[] theirs = new double[runs];
    PlacementPlan plan = null;
    PlacementPlan baseline = null;
    for (int i = 0; i < runs; i++) {
      long start = System.nanoTime();
      plan = policy.plan(problem);
      long middle = System.nanoTime();
      baseline = deepSeek.plan(problem);
      long end = System.nanoTime();
      ours[i] = (middle - start) / 1e6;
      theirs[i] = (end - middle) / 1e6;
      if (!jsonOnly) {
        out.printf(
            "run %d: %d layers planned in %.0f ms (DeepSeek %.1f ms)%n",
            i + 1, layers, ours[i], theirs[i]);
        out.flush();
      }
    }
    PlanValidator.validate(problem, plan);
    double[] exact = DeepSeekPolicy.exactBalancedness(problem, baseline);
    double median = median(ours);
    out.println(
        new JsonLine()
            .put("bench", "eplb")
            .put("kernel", ExpertKernels.preferred().name())
            .put("experts", experts)
            .put("ranks", ranks)
            .put("layers", layers)
            .put("replicas", replicas)
            .put("groups", groups)
            .put("nodes", nodes)
            .put("shares", mode.name().toLowerCase(java.util.Locale.ROOT))
            .put("cores", Runtime.getRuntime().availableProcessors())
            .put("wall_ms", ours)
            .put("wall_ms_median", median)
            .put("deepseek_wall_ms_median", median(theirs))
            .put("balancedness", plan.meanBalancedness())
            .put("deepseek_balancedness", Arrays.stream(exact).average().orElse(1))
            .put("deepseek_balancedness_on_grid", baseline.meanBalancedness())
            .put("plan_valid", true));
    out.flush();
    return 0;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
