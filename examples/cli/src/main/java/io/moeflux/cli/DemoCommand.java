package io.moeflux.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.cli.bench.Percentiles;
import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.eplb.policy.BalancedPolicy;
import io.moeflux.eplb.policy.Balancedness;
import io.moeflux.eplb.policy.ShareMode;
import io.moeflux.eplb.rebalance.RebalanceEvent;
import io.moeflux.eplb.rebalance.RebalanceOptions;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.model.ModelConfig;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.placement.PlacementHistory;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.serving.BalancedGroup;
import io.moeflux.serving.picture.HeatPicture;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The whole thing in one run: a rank group over loopback TCP with skewed routing, heat collected on
 * its own scheduler, a rebalance planned from it, expert weights migrated over the mesh, every rank
 * switching at the same step, and every output checked against the reference.
 */
@Command(name = "demo", mixinStandardHelpOptions = true)
final class DemoCommand extends GroupCommand {
  private static final int BLOCK = 20;

  @Option(names = "--steps")
  int steps = 240;

  @Option(names = "--interval")
  int interval = 40;

  @Option(names = "--shares")
  String shares = "weighted";

  @Option(names = "--picture")
  Path picture = Path.of("moeflux-out", "heat.svg");

  @Override
  public Integer call() throws Exception {
    PrintWriter out = out();
    PipelineConfig config = group.pipelineSwitchingEvery(interval);
    ModelConfig model = group.model();
    int ranks = group.ranks;
    out.printf(
        "moeflux demo: %d ranks over %s, %d experts (+%d replicas) of hidden %d, top-%d, %d layers,"
            + " gate skew %.1f%n",
        ranks,
        group.transport,
        model.experts(),
        config.redundantSlots(),
        model.hidden(),
        model.topK(),
        model.layers(),
        model.gateSkew());
    out.flush();

    ShareMode mode = RebalanceCommand.shareMode(shares);
    long started = System.nanoTime();
    BalancedGroup balanced =
        BalancedGroup.start(
                ranks,
                group.transport,
                config,
                new SimpleMeterRegistry(),
                RebalanceOptions.builder().policy(new BalancedPolicy(mode)).build())
            .block(Duration.ofMinutes(1));
    MoeGroup moe = balanced.group();
    out.printf("[start] mesh up in %.1f s%n", (System.nanoTime() - started) / 1e9);
    List<HeatSnapshot> snapshots = new CopyOnWriteArrayList<>();
    try {
      balanced.heat(0).snapshots().subscribe(snapshots::add, error -> {});
      balanced
          .balancer(0)
          .events()
          .subscribe(
              event -> {
                if (event.kind() != RebalanceEvent.Kind.SKIPPED) {
                  out.printf(
                      "[eplb] step %d: %s: %s%n", event.step(), event.kind(), event.detail());
                  out.flush();
                }
              });

      SyntheticWorkload workload = group.model.workload(0.02);
      OutputCheck check = new OutputCheck();
      long[] stepNanos = new long[steps];
      List<List<TokenBatch>> outputs = new ArrayList<>();
      long runStart = System.nanoTime();
      long tokens = 0;
      for (int first = 0; first < steps; first += BLOCK) {
        int count = Math.min(BLOCK, steps - first);
        List<Flux<TokenBatch>> inputs = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
          inputs.add(workload.batches(r, first, count));
        }
        long[] last = {System.nanoTime()};
        int[] index = {first};
        moe.forward(inputs)
            .doOnNext(
                step -> {
                  long now = System.nanoTime();
                  stepNanos[index[0]++] = now - last[0];
                  last[0] = now;
                  outputs.add(step);
                })
            .blockLast(Duration.ofMinutes(5));
        for (int i = outputs.size() - count; i < outputs.size(); i++) {
          for (TokenBatch batch : outputs.get(i)) {
            tokens += batch.tokens();
          }
        }
        HeatSnapshot latest = snapshots.isEmpty() ? null : snapshots.get(snapshots.size() - 1);
        out.printf(
            "[run] step %3d/%d  %s  placement v%d  heat balancedness %s%n",
            first + count,
            steps,
            bar(first + count, steps),
            moe.rank(0).status().placementVersion(),
            latest == null ? "-" : String.format("%.3f", latest.meanBalancedness()));
        out.flush();
      }
      double runSeconds = (System.nanoTime() - runStart) / 1e9;
      // the last window's heat is gathered after its last step: wait for it before leaving
      balanced
          .heat(0)
          .snapshots()
          .filter(s -> s.toStep() >= steps - steps % interval)
          .next()
          .timeout(Duration.ofSeconds(10), Mono.empty())
          .block();
      moe.close().block(Duration.ofSeconds(30));

      // every rank's own record of its switches, each checked against rank 0's
      List<PlacementHistory> histories =
          moe.ranks().stream().map(MoeRank::placementHistory).toList();
      HistoryCheck historyCheck = HistoryCheck.of(histories);
      out.printf(
          "[check] %d ranks switched at the same steps to the same maps: %s (%d switches)%n",
          ranks - historyCheck.differing(),
          historyCheck.differing() == 0 ? "yes" : "NO",
          historyCheck.switches());
      out.printf(
          "[check] comparing %d outputs with the single-process reference%n",
          outputs.size() * ranks);
      PlacementReferences references = new PlacementReferences(moe.model(), config.wire());
      for (int step = 0; step < outputs.size(); step++) {
        for (int r = 0; r < ranks; r++) {
          check.compare(
              step, r, outputs.get(step).get(r), references.at(histories.get(r), step), workload);
        }
      }

      // heat before: the last window that ends by the first switch; after: the last window, which
      // starts after the last switch when there was one
      List<PlacementHistory.Entry> switches = histories.get(0).entries();
      long firstSwitch = switches.size() > 1 ? switches.get(1).step() : Long.MAX_VALUE;
      long lastSwitch = switches.get(switches.size() - 1).step();
      HeatSnapshot before = null;
      HeatSnapshot after = null;
      for (HeatSnapshot s : snapshots) {
        if (s.toStep() <= firstSwitch) {
          before = s;
        }
        if (switches.size() > 1 && s.fromStep() > lastSwitch) {
          after = s;
        }
      }
      if (after == null && !snapshots.isEmpty()) {
        after = snapshots.get(snapshots.size() - 1);
      }
      Path written = null;
      if (before != null && after != null) {
        written =
            HeatPicture.write(
                picture,
                "moeflux: expert heat before and after the rebalance (" + shares + " shares)",
                List.of(
                    new HeatPicture.Panel(
                        "before", before, histories.get(0).inForceAt(before.toStep() - 1)),
                    new HeatPicture.Panel(
                        "after", after, histories.get(0).inForceAt(after.toStep() - 1))));
      }
      HeatSnapshot last = snapshots.isEmpty() ? null : snapshots.get(snapshots.size() - 1);
      LastWindow window =
          last == null ? null : LastWindow.of(last, histories.get(0).inForceAt(last.toStep() - 1));
      Percentiles p = new Percentiles(stepNanos, steps);
      double balancedBefore = before == null ? Double.NaN : before.meanBalancedness();
      double balancedAfter = after == null ? Double.NaN : after.meanBalancedness();
      out.printf(
          "%nmoeflux demo: %d ranks ran %d steps (%d tokens, %.0f tokens/s, step p50 %.0f us)."
              + "%nRebalanced %d time(s): balancedness %.3f -> %.3f (mean/max tokens per rank; the"
              + " last heat window before the first switch, and the last one)."
              + "%nLast window (steps %s): balancedness %.3f measured with %s shares; the same"
              + " expert loads on the same maps give %.3f with these shares, %.3f with equal ones."
              + "%nOutputs vs reference: %d mismatches (%d of %d bitwise equal). Picture: %s%n",
          ranks,
          steps,
          tokens,
          tokens / runSeconds,
          p.at(50) / 1000.0,
          historyCheck.switches(),
          balancedBefore,
          balancedAfter,
          last == null ? "-" : last.fromStep() + "-" + (last.toStep() - 1),
          window == null ? Double.NaN : window.measured(),
          shares,
          window == null ? Double.NaN : window.withShares(),
          window == null ? Double.NaN : window.withoutShares(),
          check.mismatches(),
          check.bitwiseEqual(),
          check.outputs(),
          written == null ? "-" : written.toAbsolutePath());
      JsonLine json =
          new JsonLine()
              .put("ranks", ranks)
              .put("steps", steps)
              .put("tokens_per_s", Math.round(tokens / runSeconds))
              .put("step_p50_us", p.at(50) / 1000)
              .put("step_p99_us", p.at(99) / 1000)
              .put("rebalances", historyCheck.switches())
              .put("bytes_migrated", balanced.balancer(0).bytesMigrated())
              .put("balancedness_before", balancedBefore)
              .put("balancedness_after", balancedAfter)
              .put("shares", shares)
              .put("balancedness_last_window", window == null ? null : window.measured())
              .put(
                  "balancedness_last_window_predicted", window == null ? null : window.withShares())
              .put(
                  "balancedness_last_window_without_shares",
                  window == null ? null : window.withoutShares());
      check.putInto(json);
      historyCheck.putInto(json);
      out.println(
          json.put("picture", written == null ? null : written.toAbsolutePath().toString()));
      out.flush();
      boolean ok =
          check.mismatches() == 0
              && historyCheck.differing() == 0
              && balancedAfter > balancedBefore
              && written != null;
      return ok ? 0 : 1;
    } finally {
      balanced.dispose();
    }
  }

  /**
   * The last heat window: its measured balancedness, and the balancedness its expert loads give on
   * the maps in force with their shares and with equal shares.
   */
  record LastWindow(double measured, double withShares, double withoutShares) {
    static LastWindow of(HeatSnapshot window, Placement placement) {
      double[][] load = window.logicalLoad(placement);
      int[][] phy2log = placement.phy2log();
      int[][] shares = placement.shares();
      int[][] equal = Placement.equalShares(phy2log, placement.experts());
      double with = 0;
      double without = 0;
      for (int l = 0; l < load.length; l++) {
        with += Balancedness.of(load[l], phy2log[l], shares[l], placement.ranks());
        without += Balancedness.of(load[l], phy2log[l], equal[l], placement.ranks());
      }
      return new LastWindow(window.meanBalancedness(), with / load.length, without / load.length);
    }
  }

  private static String bar(int done, int total) {
    int width = 24;
    int filled = (int) Math.round((double) done / total * width);
    return "[" + "#".repeat(filled) + ".".repeat(width - filled) + "]";
  }
}
