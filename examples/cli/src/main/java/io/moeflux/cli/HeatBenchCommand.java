package io.moeflux.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.cli.bench.GroupSteps;
import io.moeflux.cli.bench.Percentiles;
import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.eplb.heat.HeatStream;
import io.moeflux.eplb.heat.HeatStreams;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.RankExtensions;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * What collecting heat costs the main path: the same workload on a group without heat and a group
 * with a heat stream per rank, in alternating blocks; then whether the heat counted every token.
 */
@Command(name = "heat", mixinStandardHelpOptions = true)
final class HeatBenchCommand extends GroupBench {
  @Option(names = "--interval")
  int interval = 50;

  @Override
  public Integer call() {
    if (steps < 1 || interval < 1) {
      throw new IllegalArgumentException("--steps and --interval must be >= 1");
    }
    PipelineConfig config = group.pipeline();
    Scheduler heatScheduler = Schedulers.newParallel("moeflux-heat", 1);
    HeatStreams heats = new HeatStreams(interval, heatScheduler, new SimpleMeterRegistry());
    MoeGroup off =
        MoeGroup.start(group.ranks, group.transport, config).block(Duration.ofMinutes(1));
    MoeGroup on =
        MoeGroup.start(
                group.ranks,
                group.transport,
                config,
                RankExtensions.builder().heatTap(heats::start).build())
            .block(Duration.ofMinutes(1));
    try {
      GroupSteps.Alternation times = GroupSteps.alternate(off, on, group.model.workload(0), steps);
      heats.all().forEach(HeatStream::flush);
      long routed = times.tokens() * config.model().topK() * config.model().layers();
      Flux.interval(Duration.ofMillis(10))
          .takeUntil(tick -> counted(heats) >= routed)
          .take(Duration.ofSeconds(10))
          .blockLast();
      long counted = counted(heats);
      long coalesced = heats.all().stream().mapToLong(HeatStream::coalescedSamples).sum();
      HeatSnapshot latest = heats.of(0).latest();
      double balancedness = latest == null ? Double.NaN : latest.meanBalancedness();
      off.close().block(Duration.ofSeconds(30));
      on.close().block(Duration.ofSeconds(30));
      Percentiles offP = times.first();
      Percentiles onP = times.second();
      JsonLine json =
          new JsonLine()
              .put("bench", "heat")
              .put("ranks", group.ranks)
              .put("steps", steps)
              .put("interval", interval)
              .put("step_p50_us_heat_off", offP.at(50) / 1000.0)
              .put("step_p50_us_heat_on", onP.at(50) / 1000.0)
              .put("heat_on_over_off", Math.round(1000.0 * onP.at(50) / offP.at(50)) / 1000.0)
              .put("step_p99_us_heat_off", offP.at(99) / 1000.0)
              .put("step_p99_us_heat_on", onP.at(99) / 1000.0)
              .put("heat_tokens_counted", counted)
              .put("tokens_routed", routed)
              .put("coalesced_samples", coalesced)
              .put("balancedness", balancedness);
      report(
          String.format(
              "%d ranks, %d steps: step p50 %.1f us heat off, %.1f us heat on; heat counted %d of"
                  + " %d routed tokens",
              group.ranks, steps, offP.at(50) / 1000.0, onP.at(50) / 1000.0, counted, routed),
          json);
      return counted == routed ? 0 : 1;
    } finally {
      heats.dispose();
      off.dispose();
      on.dispose();
      heatScheduler.dispose();
    }
  }

  private static long counted(HeatStreams heats) {
    return heats.all().stream().mapToLong(HeatStream::tokensCounted).sum();
  }
}
