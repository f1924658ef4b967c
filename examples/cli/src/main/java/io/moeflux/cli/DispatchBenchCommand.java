package io.moeflux.cli;

import io.moeflux.cli.bench.AbbaSteps;
import io.moeflux.cli.bench.AllocationCounter;
import io.moeflux.cli.bench.BlockRatios;
import io.moeflux.cli.bench.DataPathMeter;
import io.moeflux.cli.bench.Percentiles;
import io.moeflux.cli.bench.ProxiedLinks;
import io.moeflux.cli.bench.RawTcpEcho;
import io.moeflux.cli.bench.StepTimes;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.RankExtensions;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.toggle.StepToggle;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import io.moeflux.transport.MeshConfigs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import reactor.core.publisher.Flux;

/**
 * Dispatch + combine throughput of a full rank group against the raw TCP loopback echo of the same
 * machine, measured in the same run.
 */
@Command(name = "dispatch", mixinStandardHelpOptions = true)
final class DispatchBenchCommand extends GroupBench {
  private static final double CONFIDENCE = 0.95;

  /** The warm-up lasts at least this many steps, and at least {@code --warmup-seconds}. */
  @Option(names = "--warmup")
  int warmup = 100;

  /**
   * So that the JIT has compiled the step's hot paths before measuring: 100 steps alone took under
   * a second, while the steps kept getting faster for several. The {@code --overlap alternating/N}
   * comparison warms up by {@code --warmup} steps only (both arms share its warm-up).
   */
  @Option(names = "--warmup-seconds")
  int warmupSeconds = 8;

  /**
   * Links between hosts on one machine ({@link ProxiedLinks}): a one-way delay and a rate per
   * connection and direction, e.g. a 1 Gbit/s network at {@code --link-mb-per-s 125}. 0 and 0 (the
   * default): ranks dial each other directly over loopback.
   */
  @Option(names = "--link-delay-us")
  long linkDelayMicros;

  @Option(names = "--link-mb-per-s")
  long linkMegabytesPerSecond;

  /**
   * With {@code --overlap alternating/N}: one running group switches the micro-batch split on and
   * off in ABBA blocks of N steps ({@link AbbaSteps}: both blocks of a pair carry the same
   * batches), and reports the step times of each arm and the median of the per-pair ratios (split
   * over whole) with its bootstrap interval, besides the data-path figures of the whole run.
   */
  private int compareOverlap(MoeGroup moe, PipelineConfig config, DataPathMeter meter) {
    StepToggle toggle = config.overlap().toggle();
    int warmupSteps = AbbaSteps.warmupSteps(toggle, warmup);
    int measured = AbbaSteps.measuredSteps(toggle, steps);
    SyntheticWorkload workload =
        SyntheticWorkload.full(
            group.model.seed, config.model().hidden(), config.maxTokensPerRank());
    long started = System.nanoTime();
    AbbaSteps.Result run = AbbaSteps.run(moe, workload, toggle, warmupSteps, measured);
    double seconds = (System.nanoTime() - started) / 1e9;
    DataPathMeter.Reading moved = meter.read();
    moe.close().block(Duration.ofSeconds(30));
    BlockRatios ratios = BlockRatios.of(run.pairRatios(), CONFIDENCE);
    JsonLine json =
        new JsonLine()
            .put("bench", "dispatch")
            .put("experts", group.model.expertKind.name().toLowerCase(Locale.ROOT))
            .put("transport", group.transport.name())
            .put("ranks", group.ranks)
            .put("tokens", config.maxTokensPerRank())
            .put("hidden", config.model().hidden())
            .put("topk", group.model.topK)
            .put("experts_per_rank", group.model.expertsPerRank)
            .put("layers", group.model.layers)
            .put("steps", measured)
            .put("warmup_steps", warmupSteps)
            .put("block_steps", toggle.blockSteps())
            .put("pairs", ratios.blocks())
            .put("step_p50_us_overlap_off", run.off().at(50) / 1000)
            .put("step_p50_us_overlap_on", run.on().at(50) / 1000)
            .put("overlap_on_over_off", round(ratios.median()))
            .put(
                "overlap_on_over_off_interval",
                new double[] {round(ratios.low()), round(ratios.high())})
            .put("confidence", CONFIDENCE);
    putLinks(json);
    putDataPath(json, config, moved, warmupSteps + measured, seconds, 1);
    report(
        String.format(
            "%d ranks, %d tokens/rank, %s experts, wire %s: step p50 %d us without the split, %d us"
                + " with it; split/whole %.3f (%.0f%% interval %.3f .. %.3f) over %d pairs of"
                + " %d-step blocks",
            group.ranks,
            config.maxTokensPerRank(),
            json.get("experts"),
            config.wire().label(),
            run.off().at(50) / 1000,
            run.on().at(50) / 1000,
            ratios.median(),
            100 * CONFIDENCE,
            ratios.low(),
            ratios.high(),
            ratios.blocks(),
            toggle.blockSteps()),
        json);
    return 0;
  }

  private static double round(double value) {
    return Math.round(value * 1000) / 1000.0;
  }

  @Override
  public Integer call() throws Exception {
    PipelineConfig config = group.pipeline();
    int hidden = config.model().hidden();
    int tokens = config.maxTokensPerRank();
    double rawTcpBefore = RawTcpEcho.bytesPerSecond(Duration.ofSeconds(2));

    ProxiedLinks links = links(config);
    MoeGroup moe;
    try {
      moe =
          (links == null
                  ? MoeGroup.start(group.ranks, group.transport, config)
                  : MoeGroup.start(links.configs(), rank -> config, RankExtensions.none()))
              .block(Duration.ofMinutes(2));
    } catch (RuntimeException e) {
      if (links != null) {
        links.close();
      }
      throw e;
    }
    StepTimes clock = new StepTimes(warmup, Duration.ofSeconds(warmupSeconds), steps);
    long[] allocatedAtStart = new long[1];
    try (DataPathMeter meter = DataPathMeter.start(List.of(moe))) {
      Runnable mark =
          () -> {
            meter.mark();
            allocatedAtStart[0] = AllocationCounter.allocatedBytes();
          };
      if (config.overlap().alternates()) {
        return compareOverlap(moe, config, meter);
      }
      SyntheticWorkload workload = SyntheticWorkload.full(group.model.seed, hidden, tokens);
      List<Flux<TokenBatch>> inputs = new ArrayList<>();
      for (int r = 0; r < group.ranks; r++) {
        int rank = r;
        // A few distinct batches per rank, reused with fresh step ids: input generation stays out
        // of the measured path.
        List<TokenBatch> distinct = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          distinct.add(workload.batch(r, i));
        }
        inputs.add(
            Flux.range(0, Integer.MAX_VALUE)
                .takeWhile(s -> clock.wants(rank, s))
                .map(
                    s -> {
                      TokenBatch b = distinct.get(s % distinct.size());
                      return TokenBatch.of(s, b.tokens(), hidden, b.data());
                    }));
      }
      moe.forward(inputs)
          .doOnSubscribe(
              subscription -> {
                clock.start(System.nanoTime());
                if (clock.warmupSteps() == 0) {
                  mark.run();
                }
              })
          .doOnNext(
              outputs -> {
                long now = System.nanoTime();
                meter.sample();
                if (clock.stepDone(now)) {
                  mark.run();
                }
              })
          .blockLast(Duration.ofMinutes(10));
      long end = System.nanoTime();
      DataPathMeter.Reading moved = meter.read();
      long bytes = moved.bytes();
      long allocated = AllocationCounter.allocatedBytes() - allocatedAtStart[0];
      moe.close().block(Duration.ofSeconds(30));
      // the reference is measured before and after, so machine drift hits both sides alike
      double rawTcpAfter = RawTcpEcho.bytesPerSecond(Duration.ofSeconds(2));
      double rawTcp = (rawTcpBefore + rawTcpAfter) / 2;

      int measured = clock.measured();
      double seconds = (end - clock.measuringSince()) / 1e9;
      double payloadPerSecond = bytes / seconds;
      Percentiles p = clock.percentiles();
      JsonLine json =
          new JsonLine()
              .put("bench", "dispatch")
              .put("experts", group.model.expertKind.name().toLowerCase())
              .put("transport", group.transport.name())
              .put("ranks", group.ranks)
              .put("tokens", tokens)
              .put("hidden", hidden)
              .put("topk", group.model.topK)
              .put("experts_per_rank", group.model.expertsPerRank)
              .put("layers", group.model.layers)
              .put("steps", measured)
              .put("warmup_steps", clock.warmupSteps())
              .put("step_p50_us", p.at(50) / 1000)
              .put("step_p99_us", p.at(99) / 1000)
              .put("payload_bytes_per_step", bytes / Math.max(1, measured))
              .put("payload_bytes_per_s", Math.round(payloadPerSecond))
              .put("raw_tcp_bytes_per_s", Math.round(rawTcp))
              .put(
                  "raw_tcp_before_after",
                  new long[] {Math.round(rawTcpBefore), Math.round(rawTcpAfter)})
              .put("efficiency", Math.round(payloadPerSecond / rawTcp * 1000) / 1000.0)
              .put("alloc_bytes_per_step", allocated / Math.max(1, measured));
      putLinks(json);
      putDataPath(json, config, moved, measured, seconds, 1);
      report(
          String.format(
              "%d ranks, %d tokens/rank, hidden %d, top-%d, %s experts, wire %s: step p50 %d us,"
                  + " p99 %d us; %.1f MB/s payload (%d rows/s) vs %.1f MB/s raw TCP echo ->"
                  + " efficiency %.3f",
              group.ranks,
              tokens,
              hidden,
              group.model.topK,
              json.get("experts"),
              config.wire().label(),
              p.at(50) / 1000,
              p.at(99) / 1000,
              payloadPerSecond / 1e6,
              json.get("rows_per_s"),
              rawTcp / 1e6,
              payloadPerSecond / rawTcp),
          json);
      return 0;
    } finally {
      moe.dispose();
      if (links != null) {
        links.close();
      }
    }
  }

  /** With a link delay or rate, the group's ranks reach each other through proxies. */
  private @Nullable ProxiedLinks links(PipelineConfig config) {
    if (linkDelayMicros < 0 || linkMegabytesPerSecond < 0) {
      throw new IllegalArgumentException("--link-delay-us and --link-mb-per-s must be >= 0");
    }
    if (linkDelayMicros == 0 && linkMegabytesPerSecond == 0) {
      return null;
    }
    return new ProxiedLinks(
        MeshConfigs.group(group.transport, group.ranks, MoeRank.fingerprint(config)),
        linkDelayMicros,
        linkMegabytesPerSecond * 1_000_000);
  }

  private JsonLine putLinks(JsonLine json) {
    return json.put("link_delay_us", linkDelayMicros).put("link_mb_per_s", linkMegabytesPerSecond);
  }
}
