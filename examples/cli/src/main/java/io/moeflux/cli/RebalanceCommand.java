package io.moeflux.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeflux.eplb.policy.BalancedPolicy;
import io.moeflux.eplb.policy.DeepSeekPolicy;
import io.moeflux.eplb.policy.MigrationCost;
import io.moeflux.eplb.policy.MinimalMovementPolicy;
import io.moeflux.eplb.policy.PlacementPlan;
import io.moeflux.eplb.policy.PlacementPolicy;
import io.moeflux.eplb.policy.PlacementProblem;
import io.moeflux.eplb.policy.PlanValidator;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Plans a placement offline from a load file, as the online balancer would. */
@Command(name = "rebalance", mixinStandardHelpOptions = true)
final class RebalanceCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Option(names = "--loads", required = true)
  Path loads;

  @Option(names = "--replicas", required = true)
  int replicas;

  @Option(names = "--ranks", required = true)
  int ranks;

  @Option(names = "--groups")
  int groups;

  @Option(names = "--nodes")
  int nodes;

  @Option(names = "--policy")
  String policy = "balanced";

  @Option(names = "--current")
  @Nullable Path current;

  @Option(names = "--tolerance")
  double tolerance = 0.02;

  @Option(names = "--expert-bytes")
  long expertBytes = 1;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      PlacementProblem problem =
          PlacementProblem.builder(readLoad())
              .replicas(replicas)
              .ranks(ranks)
              .groups(groups)
              .nodes(nodes)
              .build();
      int[][] now = current == null ? null : readPhy2log(current, problem.layers());
      PlacementPolicy chosen =
          switch (policy) {
            case "balanced" -> new BalancedPolicy();
            case "deepseek" -> new DeepSeekPolicy();
            case "minimal" -> {
              if (now == null) {
                throw new IllegalArgumentException("--policy minimal needs --current FILE");
              }
              yield new MinimalMovementPolicy(now, tolerance);
            }
            default ->
                throw new IllegalArgumentException(
                    "--policy must be balanced, deepseek or minimal, got '" + policy + "'");
          };
      PlacementPlan plan = chosen.plan(problem);
      if (!policy.equals("deepseek")) {
        PlanValidator.validate(problem, plan);
      }
      PlacementPlan deepSeek = new DeepSeekPolicy().plan(problem);
      JsonLine json =
          new JsonLine()
              .put("phy2log", plan.phy2log())
              .put("logcnt", plan.logcnt())
              .put("balancedness", plan.balancedness())
              .put("deepseek_balancedness", deepSeek.balancedness())
              .put("policy", policy);
      if (now != null) {
        json.put(
            "bytes_to_move", MigrationCost.bytesToMove(now, plan.phy2log(), ranks, expertBytes));
      }
      out.printf(
          "%d layers, %d experts, %d slots on %d ranks%s: balancedness %s (DeepSeek %s)%n",
          problem.layers(),
          problem.experts(),
          replicas,
          ranks,
          problem.hierarchical() ? " (" + groups + " groups on " + nodes + " nodes)" : "",
          format(plan.balancedness()),
          format(deepSeek.balancedness()));
      out.println(json);
      out.flush();
      return 0;
    } catch (IllegalArgumentException e) {
      err.println("moeflux rebalance: " + e.getMessage());
      err.flush();
      return 2;
    }
  }

  private double[][] readLoad() {
    JsonNode root = read(loads);
    JsonNode load = root.get("load");
    if (load == null || !load.isArray()) {
      throw new IllegalArgumentException(loads + ": no 'load' array");
    }
    double[][] result = new double[load.size()][];
    for (int l = 0; l < load.size(); l++) {
      JsonNode layer = load.get(l);
      if (!layer.isArray()) {
        throw new IllegalArgumentException(loads + ": load[" + l + "] is not an array");
      }
      result[l] = new double[layer.size()];
      for (int e = 0; e < layer.size(); e++) {
        JsonNode v = layer.get(e);
        if (!v.isNumber()) {
          throw new IllegalArgumentException(
              loads + ": load[" + l + "][" + e + "] is not a number: " + v);
        }
        result[l][e] = v.asDouble();
      }
    }
    return result;
  }

  private static int[][] readPhy2log(Path file, int layers) {
    JsonNode map = read(file).get("phy2log");
    if (map == null || !map.isArray() || map.size() != layers) {
      throw new IllegalArgumentException(file + ": 'phy2log' must list " + layers + " layers");
    }
    int[][] result = new int[layers][];
    for (int l = 0; l < layers; l++) {
      JsonNode layer = map.get(l);
      result[l] = new int[layer.size()];
      for (int s = 0; s < layer.size(); s++) {
        if (!layer.get(s).isInt()) {
          throw new IllegalArgumentException(
              file + ": phy2log[" + l + "][" + s + "] is not an int");
        }
        result[l][s] = layer.get(s).asInt();
      }
    }
    return result;
  }

  private static JsonNode read(Path file) {
    try {
      return JSON.readTree(Files.readString(file));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage());
    }
  }

  private static String format(double[] values) {
    return Arrays.stream(values)
        .mapToObj(v -> String.format("%.4f", v))
        .reduce((a, b) -> a + ", " + b)
        .orElse("");
  }
}
