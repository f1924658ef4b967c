package io.moeflux.cli;

import io.moeflux.cli.bench.AllocationCounter;
import io.moeflux.cli.bench.Percentiles;
import io.moeflux.cli.bench.RawTcpEcho;
import io.moeflux.cli.bench.StepTimes;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.MoeRank;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.TokenBatch;
import io.moeflux.pipeline.workload.SyntheticWorkload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import reactor.core.publisher.Flux;

/**
 * Dispatch + combine throughput of a full rank group against the raw TCP loopback echo of the same
 * machine, measured in the same run.
 */
@Command(name = "dispatch", mixinStandardHelpOptions = true)
final class DispatchBenchCommand extends GroupBench {
  @Option(names = "--warmup")
  int warmup = 100;

  @Override
  public Integer call() throws Exception {
    PipelineConfig config = group.pipeline();
    int hidden = config.model().hidden();
    int tokens = config.maxTokensPerRank();
    double rawTcpBefore = RawTcpEcho.bytesPerSecond(Duration.ofSeconds(2));

    MoeGroup moe =
        MoeGroup.start(group.ranks, group.transport, config).block(Duration.ofMinutes(2));
    StepTimes clock = new StepTimes(warmup, steps);
    long[] atMeasuringStart = new long[2]; // hidden bytes sent, bytes allocated
    Runnable mark =
        () -> {
          atMeasuringStart[0] = bytesSent(moe);
          atMeasuringStart[1] = AllocationCounter.allocatedBytes();
        };
    try {
      SyntheticWorkload workload = SyntheticWorkload.full(group.model.seed, hidden, tokens);
      List<Flux<TokenBatch>> inputs = new ArrayList<>();
      for (int r = 0; r < group.ranks; r++) {
        // A few distinct batches per rank, reused with fresh step ids: input generation stays out
        // of the measured path.
        List<TokenBatch> distinct = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          distinct.add(workload.batch(r, i));
        }
        inputs.add(
            Flux.range(0, warmup + steps)
                .map(
                    s -> {
                      TokenBatch b = distinct.get(s % distinct.size());
                      return TokenBatch.of(s, b.tokens(), hidden, b.data());
                    }));
      }
      moe.forward(inputs)
          .doOnSubscribe(
              subscription -> {
                if (warmup == 0) {
                  mark.run();
                }
                clock.start(System.nanoTime());
              })
          .doOnNext(
              outputs -> {
                if (clock.stepDone(System.nanoTime())) {
                  mark.run();
                }
              })
          .blockLast(Duration.ofMinutes(10));
      long end = System.nanoTime();
      long bytes = bytesSent(moe) - atMeasuringStart[0];
      long allocated = AllocationCounter.allocatedBytes() - atMeasuringStart[1];
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
      report(
          String.format(
              "%d ranks, %d tokens/rank, hidden %d, top-%d, %s experts: step p50 %d us, p99 %d us;"
                  + " %.1f MB/s payload vs %.1f MB/s raw TCP echo -> efficiency %.3f",
              group.ranks,
              tokens,
              hidden,
              group.model.topK,
              json.get("experts"),
              p.at(50) / 1000,
              p.at(99) / 1000,
              payloadPerSecond / 1e6,
              rawTcp / 1e6,
              payloadPerSecond / rawTcp),
          json);
      return 0;
    } finally {
      moe.dispose();
    }
  }

  private static long bytesSent(MoeGroup moe) {
    long total = 0;
    for (MoeRank rank : moe.ranks()) {
      total += rank.status().hiddenBytesSent();
    }
    return total;
  }
}
