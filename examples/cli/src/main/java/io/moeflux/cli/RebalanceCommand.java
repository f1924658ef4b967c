package io.moeflux.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeflux.eplb.policy.BalancedPolicy;
import io.moeflux.eplb.policy.Balancedness;
import io.moeflux.eplb.policy.DeepSeekPolicy;
import io.moeflux.eplb.policy.MigrationCost;
import io.moeflux.eplb.policy.MinimalMovementPolicy;
import io.moeflux.eplb.policy.PlacementPlan;
import io.moeflux.eplb.policy.PlacementPolicy;
import io.moeflux.eplb.policy.PlacementProblem;
import io.moeflux.eplb.policy.PlanValidator;
import io.moeflux.eplb.policy.ShareMode;
import io.moeflux.pipeline.model.Placement;
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

  @Option(names = "--shares")
  String shares = "weighted";

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
      ShareMode mode = shareMode(shares);
      double[][] load = readLoad();
      Placement now = current == null ? null : readPlacement(current, load);
      PlacementProblem problem =
          PlacementProblem.builder(load)
              .replicas(replicas)
              .ranks(ranks)
              .groups(groups)
              .nodes(nodes)
              .current(now)
              .build();
      PlacementPolicy chosen =
          switch (policy) {
            case "balanced" -> new BalancedPolicy(mode);
            case "deepseek" -> new DeepSeekPolicy();
            case "minimal" -> {
              if (now == null) {
                throw new IllegalArgumentException("--policy minimal needs --current FILE");
              }
              yield new MinimalMovementPolicy(tolerance, mode);
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
      double[] deepSeekExact = DeepSeekPolicy.exactBalancedness(problem, deepSeek);
      JsonLine json =
          new JsonLine()
              .put("phy2log", plan.phy2log())
              .put("share", plan.shareFractions())
              .put("logcnt", plan.logcnt())
              .put("balancedness", plan.balancedness())
              .put("deepseek_balancedness", deepSeekExact)
              .put("policy", policy)
              .put("shares", policy.equals("deepseek") ? "uniform" : shares);
      String versus = "";
      if (now != null) {
        double[] before = new double[problem.layers()];
        for (int l = 0; l < before.length; l++) {
          before[l] = Balancedness.of(load[l], now.phy2log()[l], now.shares()[l], problem.ranks());
        }
        double gain = plan.meanBalancedness() - Arrays.stream(before).average().orElse(1);
        long moved = MigrationCost.expertsToMove(now.phy2log(), plan.phy2log(), ranks);
        json.put("current_balancedness", before)
            .put("gain", gain)
            .put("experts_to_move", moved)
            .put("bytes_to_move", moved * expertBytes);
        versus =
            String.format(
                "; the current placement %s, gain %.4f, %d expert copies move",
                format(before), gain, moved);
      }
      out.printf(
          "%d layers, %d experts, %d slots on %d ranks%s, %s shares: balancedness %s (DeepSeek"
              + " %s)%s%n",
          problem.layers(),
          problem.experts(),
          replicas,
          ranks,
          problem.hierarchical() ? " (" + groups + " groups on " + nodes + " nodes)" : "",
          policy.equals("deepseek") ? "uniform" : shares,
          format(plan.balancedness()),
          format(deepSeekExact),
          versus);
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

  static ShareMode shareMode(String name) {
    return switch (name) {
      case "weighted" -> ShareMode.WEIGHTED;
      case "uniform" -> ShareMode.UNIFORM;
      default ->
          throw new IllegalArgumentException(
              "--shares must be weighted or uniform, got '" + name + "'");
    };
  }

  /** The placement in {@code file}: its maps (and shares) checked like any placement's. */
  private Placement readPlacement(Path file, double[][] load) {
    JsonNode root = read(file);
    int[][] phy2log = readInts(file, root, "phy2log", load.length);
    JsonNode share = root.get("share");
    if (share == null) {
      return Placement.of(phy2log, load[0].length, ranks, 0);
    }
    int[][] units = new int[load.length][];
    for (int l = 0; l < load.length; l++) {
      JsonNode layer = share.isArray() && share.size() == load.length ? share.get(l) : null;
      if (layer == null || !layer.isArray() || layer.size() != phy2log[l].length) {
        throw new IllegalArgumentException(
            file + ": 'share' must list " + phy2log[l].length + " shares for layer " + l);
      }
      units[l] = new int[layer.size()];
      for (int s = 0; s < layer.size(); s++) {
        double grid = layer.get(s).asDouble(Double.NaN) * Placement.SHARE_UNITS;
        if (!(Math.abs(grid - Math.rint(grid)) < 1e-9)) {
          throw new IllegalArgumentException(
              file
                  + ": share["
                  + l
                  + "]["
                  + s
                  + "] = "
                  + layer.get(s)
                  + " is not a multiple of 1/"
                  + Placement.SHARE_UNITS);
        }
        units[l][s] = (int) Math.rint(grid);
      }
    }
    return Placement.of(phy2log, units, load[0].length, ranks, 0);
  }

  private static int[][] readInts(Path file, JsonNode root, String field, int layers) {
    JsonNode map = root.get(field);
    if (map == null || !map.isArray() || map.size() != layers) {
      throw new IllegalArgumentException(
          file + ": '" + field + "' must list " + layers + " layers");
    }
    int[][] result = new int[layers][];
    for (int l = 0; l < layers; l++) {
      JsonNode layer = map.get(l);
      if (!layer.isArray()) {
        throw new IllegalArgumentException(file + ": " + field + "[" + l + "] is not an array");
      }
      result[l] = new int[layer.size()];
      for (int s = 0; s < layer.size(); s++) {
        if (!layer.get(s).isInt()) {
          throw new IllegalArgumentException(
              file + ": " + field + "[" + l + "][" + s + "] is not an int");
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
