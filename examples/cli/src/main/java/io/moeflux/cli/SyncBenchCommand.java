package io.moeflux.cli;

import io.moeflux.cli.bench.AbbaSteps;
import io.moeflux.cli.bench.BlockRatios;
import io.moeflux.cli.bench.DataPathMeter;
import io.moeflux.cli.bench.Percentiles;
import io.moeflux.cli.bench.ProxiedLinks;
import io.moeflux.cli.bench.RawTcpPingPong;
import io.moeflux.pipeline.MoeGroup;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.RankExtensions;
import io.moeflux.pipeline.sync.DpMetadata;
import io.moeflux.pipeline.sync.DpMetadataSync;
import io.moeflux.pipeline.sync.SyncOptions;
import io.moeflux.pipeline.toggle.StepToggle;
import io.moeflux.transport.MeshConfig;
import io.moeflux.transport.MeshConfigs;
import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.RankMesh;
import io.moeflux.transport.tcp.TcpMeshTransport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import reactor.core.publisher.Flux;

/**
 * The cost of the per-step DP metadata sync: the all-reduce alone, and a decode workload on one
 * group that syncs or skips at run time, in blocks in ABBA order (every rank at the same step),
 * optionally through proxies that add a one-way link delay between ranks.
 */
@Command(name = "sync", mixinStandardHelpOptions = true)
final class SyncBenchCommand extends GroupBench {
  private static final double CONFIDENCE = 0.95;

  @Option(names = "--warmup-steps")
  int warmupSteps = 200;

  @Option(names = "--block")
  int block = 2;

  @Option(names = "--iterations")
  int iterations = 2000;

  @Option(names = "--warmup")
  int warmup = 10_000;

  @Option(names = "--link-delay-us")
  long linkDelayMicros = 0;

  @Override
  public Integer call() throws Exception {
    loopback(); // refuses any --transport but TCP before anything is measured
    if (iterations < 1 || steps < 1 || block < 1 || warmupSteps < 0 || linkDelayMicros < 0) {
      throw new IllegalArgumentException(
          "--iterations, --steps and --block must be >= 1, --warmup-steps and --link-delay-us >= 0");
    }
    Percentiles pingPong = new Percentiles(RawTcpPingPong.roundTrips(iterations, 200), iterations);
    List<ProxiedLinks> proxies = new ArrayList<>();
    try {
      Percentiles allReduce = allReduceAlone(proxies);
      StepToggle toggle = StepToggle.abba(block);
      PipelineConfig decode =
          group.pipeline().toBuilder()
              .sync(SyncOptions.decodeOnly().toBuilder().skipSteps(toggle).build())
              .build();
      int warmup = AbbaSteps.warmupSteps(toggle, warmupSteps);
      int measured = AbbaSteps.measuredSteps(toggle, steps);
      MoeGroup moe =
          MoeGroup.start(delayed(proxies), rank -> decode, RankExtensions.none())
              .block(Duration.ofMinutes(1));
      try (DataPathMeter meter = DataPathMeter.start(List.of(moe))) {
        long started = System.nanoTime();
        AbbaSteps.Result run =
            AbbaSteps.run(moe, group.model.workload(0), toggle, warmup, measured);
        double seconds = (System.nanoTime() - started) / 1e9;
        DataPathMeter.Reading moved = meter.read();
        long synced = moe.rank(0).status().syncedSteps();
        long skipped = moe.rank(0).status().skippedSteps();
        moe.close().block(Duration.ofSeconds(30));
        Percentiles sync = run.off();
        Percentiles skip = run.on();
        BlockRatios ratios = BlockRatios.of(run.pairRatios(), CONFIDENCE);
        JsonLine json =
            new JsonLine()
                .put("bench", "sync")
                .put("ranks", group.ranks)
                .put("iterations", iterations)
                .put("steps", measured)
                .put("warmup_steps", warmup)
                .put("block_steps", block)
                .put("pairs", ratios.blocks())
                .put("link_delay_us", linkDelayMicros)
                .put("allreduce_p50_us", micros(allReduce.at(50)))
                .put("allreduce_p99_us", micros(allReduce.at(99)))
                .put("tcp_pingpong_p50_us", micros(pingPong.at(50)))
                .put("allreduce_over_pingpong", ratio(allReduce.at(50), pingPong.at(50)))
                .put("step_p50_us_sync", micros(sync.at(50)))
                .put("step_p50_us_skip", micros(skip.at(50)))
                .put("step_p99_us_sync", micros(sync.at(99)))
                .put("step_p99_us_skip", micros(skip.at(99)))
                .put("skip_over_sync", round(ratios.median()))
                .put(
                    "skip_over_sync_interval",
                    new double[] {round(ratios.low()), round(ratios.high())})
                .put("confidence", CONFIDENCE)
                .put("synced_steps", synced)
                .put("skipped_steps", skipped);
        putDataPath(json, decode, moved, warmup + measured, seconds, 1);
        report(
            String.format(
                "%d ranks, link delay %d us: all-reduce p50 %.1f us (TCP ping-pong %.1f us);"
                    + " decode step p50 %.1f us with the sync, %.1f us without; skip/sync %.3f"
                    + " (%.0f%% interval %.3f .. %.3f) over %d pairs of %d-step blocks",
                group.ranks,
                linkDelayMicros,
                micros(allReduce.at(50)),
                micros(pingPong.at(50)),
                micros(sync.at(50)),
                micros(skip.at(50)),
                ratios.median(),
                100 * CONFIDENCE,
                ratios.low(),
                ratios.high(),
                ratios.blocks(),
                block),
            json);
        return synced + skipped == warmup + measured ? 0 : 1;
      } finally {
        moe.dispose();
      }
    } finally {
      proxies.forEach(ProxiedLinks::close);
    }
  }

  private Percentiles allReduceAlone(List<ProxiedLinks> proxies) throws Exception {
    List<RankMesh> meshes = MeshConfigs.startAll(delayed(proxies)).block(Duration.ofMinutes(1));
    try {
      int total = warmup + iterations;
      List<Flux<DpMetadata>> peers = new ArrayList<>();
      for (int r = 1; r < meshes.size(); r++) {
        DpMetadataSync sync = new DpMetadataSync(meshes.get(r));
        int tokens = r;
        peers.add(Flux.range(0, total).concatMap(i -> sync.sync(i, tokens, false)));
      }
      // the peers' last rounds may end after rank 0's: wait for them before the meshes close
      CompletableFuture<Void> peersDone = Flux.merge(peers).then().toFuture();
      DpMetadataSync sync = new DpMetadataSync(meshes.get(0));
      long[] times = new long[iterations];
      Flux.range(0, total)
          .concatMap(
              i -> {
                long start = System.nanoTime();
                return sync.sync(i, 0, false)
                    .doOnNext(
                        metadata -> {
                          if (i >= warmup) {
                            times[i - warmup] = System.nanoTime() - start;
                          }
                        });
              })
          .blockLast(Duration.ofMinutes(5));
      peersDone.get(1, TimeUnit.MINUTES);
      return new Percentiles(times, iterations);
    } finally {
      meshes.forEach(RankMesh::dispose);
    }
  }

  /** Loopback configs; with a link delay, every rank reaches every peer through a proxy. */
  private List<MeshConfig> delayed(List<ProxiedLinks> proxies) {
    List<MeshConfig> direct =
        MeshConfigs.group(loopback(), group.ranks, MeshFingerprint.of("bench", "sync"));
    if (linkDelayMicros == 0) {
      return direct;
    }
    ProxiedLinks links = new ProxiedLinks(direct, linkDelayMicros, 0);
    proxies.add(links);
    return links.configs();
  }

  /** A loopback TCP group: the links this bench measures. */
  private TcpMeshTransport loopback() {
    if (group.transport.forGroup(group.ranks) instanceof TcpMeshTransport tcp) {
      return tcp;
    }
    throw new IllegalArgumentException("bench sync measures TCP links; --transport must be TCP");
  }

  private static double micros(long nanos) {
    return Math.round(nanos / 100.0) / 10.0;
  }

  private static double ratio(long a, long b) {
    return b == 0 ? 0 : round((double) a / b);
  }

  private static double round(double value) {
    return Math.round(value * 10_000) / 10_000.0;
  }
}
