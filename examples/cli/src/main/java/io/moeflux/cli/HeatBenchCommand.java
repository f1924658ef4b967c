package io.moeflux.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moeflux.cli.bench.AbbaSteps;
import io.moeflux.cli.bench.BlockRatios;
import io.moeflux.cli.bench.DataPathMeter;
import io.moeflux.eplb.heat.HeatSnapshot;
import io.moeflux.eplb.heat.HeatStream;
import io.moeflux.eplb.heat.HeatStreams;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.RankExtensions;
import io.moeflux.pipeline.toggle.StepToggle;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * What collecting heat costs the main path: one group with a heat stream per rank, the heat tap
 * switched off and on at run time in blocks in ABBA order (every rank at the same step); the median
 * of the per-pair ratios with a bootstrap interval; then whether the heat counted every token
 * routed while it was on.
 *
 * <p>The in-JVM transport is its default ({@code command-defaults.properties}): what is compared is
 * the heat tap on the main path, and the kernel's socket wake-ups, the same in both kinds of block,
 * are the noise that hides 1 % in 1000 steps on two cores. {@code --transport TCP} measures over
 * loopback.
 */
@Command(name = "heat", mixinStandardHelpOptions = true)
final class HeatBenchCommand extends GroupBench {
  private static final double CONFIDENCE = 0.95;

  @Option(names = "--interval")
  int interval = 50;

  @Option(names = "--warmup-steps")
  int warmupSteps = 200;

  @Option(names = "--block")
  int block = 1;

  @Override
  public Integer call() {
    if (steps < 1 || interval < 1 || block < 1 || warmupSteps < 0) {
      throw new IllegalArgumentException(
          "--steps, --interval and --block must be >= 1, --warmup-steps >= 0");
    }
    if (interval % (4 * block) == 0) {
      throw new IllegalArgumentException(
          "--interval "
              + interval
              + " is a multiple of 4 blocks of "
              + block
              + " steps: every heat window would end in the same kind of block");
    }
    StepToggle toggle = StepToggle.abba(block);
    PipelineConfig config = group.pipeline().toBuilder().heatSteps(toggle).build();
    int warmup = AbbaSteps.warmupSteps(toggle, warmupSteps);
    int measured = AbbaSteps.measuredSteps(toggle, steps);
    Scheduler heatScheduler = Schedulers.newParallel("moeflux-heat", 1);
    HeatStreams heats = new HeatStreams(interval, heatScheduler, new SimpleMeterRegistry());
    MoeGroup moe =
        MoeGroup.start(
                group.ranks,
                group.transport,
                config,
                RankExtensions.builder().heatTap(heats::start).build())
            .block(Duration.ofMinutes(1));
    try (DataPathMeter meter = DataPathMeter.start(List.of(moe))) {
      long started = System.nanoTime();
      AbbaSteps.Result run = AbbaSteps.run(moe, group.model.workload(0), toggle, warmup, measured);
      double seconds = (System.nanoTime() - started) / 1e9;
      DataPathMeter.Reading moved = meter.read();
      heats.all().forEach(HeatStream::flush);
      long routed = run.tokensInOnSteps() * config.model().topK() * config.model().layers();
      Flux.interval(Duration.ofMillis(10))
          .takeUntil(tick -> counted(heats) >= routed)
          .take(Duration.ofSeconds(10))
          .blockLast();
      long counted = counted(heats);
      long coalesced = heats.all().stream().mapToLong(HeatStream::coalescedSamples).sum();
      HeatSnapshot latest = heats.of(0).latest();
      double balancedness = latest == null ? Double.NaN : latest.meanBalancedness();
      moe.close().block(Duration.ofSeconds(30));
      BlockRatios ratios = BlockRatios.of(run.pairRatios(), CONFIDENCE);
      int[] windowEnds = windowEnds(toggle, warmup, measured);
      JsonLine json =
          new JsonLine()
              .put("bench", "heat")
              .put("ranks", group.ranks)
              .put("transport", group.transport.name())
              .put("steps", measured)
              .put("warmup_steps", warmup)
              .put("block_steps", block)
              .put("pairs", ratios.blocks())
              .put("interval", interval)
              .put("step_p50_us_heat_off", run.off().at(50) / 1000.0)
              .put("step_p50_us_heat_on", run.on().at(50) / 1000.0)
              .put("heat_on_over_off", round(ratios.median()))
              .put("overhead", round(ratios.median() - 1))
              .put(
                  "overhead_interval",
                  new double[] {round(ratios.low() - 1), round(ratios.high() - 1)})
              .put("confidence", CONFIDENCE)
              .put("step_p99_us_heat_off", run.off().at(99) / 1000.0)
              .put("step_p99_us_heat_on", run.on().at(99) / 1000.0)
              .put("window_ends_in_off_blocks", windowEnds[0])
              .put("window_ends_in_on_blocks", windowEnds[1])
              .put("heat_tokens_counted", counted)
              .put("tokens_routed", routed)
              .put("coalesced_samples", coalesced)
              .put("balancedness", balancedness);
      putDataPath(json, config, moved, warmup + measured, seconds, 1);
      report(
          String.format(
              "%d ranks, %d measured steps in %d pairs of %d-step blocks: heat overhead %+.2f%%"
                  + " (%.0f%% interval %+.2f%% .. %+.2f%%); step p50 %.1f us off, %.1f us on;"
                  + " heat counted %d of %d routed tokens",
              group.ranks,
              measured,
              ratios.blocks(),
              block,
              100 * (ratios.median() - 1),
              100 * CONFIDENCE,
              100 * (ratios.low() - 1),
              100 * (ratios.high() - 1),
              run.off().at(50) / 1000.0,
              run.on().at(50) / 1000.0,
              counted,
              routed),
          json);
      return counted == routed ? 0 : 1;
    } finally {
      heats.dispose();
      moe.dispose();
      heatScheduler.dispose();
    }
  }

  /** Window ends among the measured steps: {@code [in off blocks, in on blocks]}. */
  private int[] windowEnds(StepToggle toggle, int warmup, int measured) {
    int[] ends = new int[2];
    for (long step = warmup; step < warmup + measured; step++) {
      if ((step + 1) % interval == 0) {
        ends[toggle.isOn(step) ? 1 : 0]++;
      }
    }
    return ends;
  }

  private static long counted(HeatStreams heats) {
    return heats.all().stream().mapToLong(HeatStream::tokensCounted).sum();
  }

  private static double round(double value) {
    return Math.round(value * 10_000) / 10_000.0;
  }
}
