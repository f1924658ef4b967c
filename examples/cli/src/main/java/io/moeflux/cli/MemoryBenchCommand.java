package io.moeflux.cli;

import io.moeflux.cli.bench.ResidentMemory;
import io.moeflux.pipeline.PipelineConfig;
import io.moeflux.pipeline.family.CheckpointModel;
import io.moeflux.pipeline.kernel.ExpertKernels;
import io.moeflux.pipeline.model.MemoryReport;
import io.moeflux.pipeline.model.Placement;
import io.moeflux.pipeline.model.SharedExpert;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What loading a rank's share of a checkpoint costs in resident memory: the process's {@code VmRSS}
 * before and after loading (and holding) every routed expert the start placement gives one rank,
 * plus the routers and shared experts, against the bytes held and the size of the files.
 */
@Command(name = "memory", mixinStandardHelpOptions = true)
final class MemoryBenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true)
  Path model;

  @Option(names = "--ranks")
  int ranks = 1;

  @Option(names = "--rank")
  int rank = 0;

  @Option(names = "--redundant-slots")
  int redundantSlots = 0;

  @Option(names = "--json")
  boolean jsonOnly;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    if (ranks < 1 || rank < 0 || rank >= ranks) {
      throw new IllegalArgumentException("--rank must be in 0..--ranks-1");
    }
    if (!ResidentMemory.available()) {
      throw new IllegalStateException("resident memory is read from /proc/self/status (Linux)");
    }
    System.gc();
    ResidentMemory before = ResidentMemory.now();
    long heapBefore = heapUsed();
    long held;
    int slots;
    long fileBytes;
    ResidentMemory after;
    long heapAfter;
    List<Object> holding = new ArrayList<>();
    try (CheckpointModel checkpoint = CheckpointModel.open(model)) {
      fileBytes = checkpoint.checkpoint().fileBytes();
      // What a rank loads at start (RankState): its slots of the start placement, every layer's
      // router and shared expert.
      Placement placement =
          PipelineConfig.builder(checkpoint, 1)
              .redundantSlots(redundantSlots)
              .build()
              .initialPlacement(ranks);
      int perRank = placement.slotsPerRank();
      for (int l = 0; l < checkpoint.layers(); l++) {
        holding.add(checkpoint.router(l));
        SharedExpert shared = checkpoint.sharedExpert(l);
        if (shared != null) {
          holding.add(shared);
        }
        for (int i = 0; i < perRank; i++) {
          holding.add(checkpoint.expert(l, placement.logicalOf(l, rank * perRank + i)));
        }
      }
      MemoryReport report = MemoryReport.of(checkpoint, placement, rank);
      held = report.totalBytes();
      slots = report.routedSlots();
      System.gc();
      after = ResidentMemory.now();
      heapAfter = heapUsed();
      // What was measured must still be held when it is measured.
      Reference.reachabilityFence(holding);
    }
    long growth = after.rss() - before.rss();
    if (!jsonOnly) {
      out.printf(
          Locale.ROOT,
          "rank %d of %d: %d expert slots, %.1f MiB held of a %.1f MiB checkpoint;"
              + " VmRSS %.1f -> %.1f MiB (+%.1f MiB, %.2f x held), VmHWM %.1f MiB,"
              + " file pages resident %.1f MiB, live heap +%.1f MiB%n",
          rank,
          ranks,
          slots,
          mib(held),
          mib(fileBytes),
          mib(before.rss()),
          mib(after.rss()),
          mib(growth),
          (double) growth / held,
          mib(after.peak()),
          mib(after.fileBacked()),
          mib(heapAfter - heapBefore));
    }
    out.println(
        new JsonLine()
            .put("bench", "memory")
            .put("kernel", ExpertKernels.preferred().name())
            .put("ranks", ranks)
            .put("rank", rank)
            .put("expert_slots", slots)
            .put("held_bytes", held)
            .put("file_bytes", fileBytes)
            .put("rss_before", before.rss())
            .put("rss_after", after.rss())
            .put("rss_growth", growth)
            .put("hwm_after", after.peak())
            .put("rss_file_after", after.fileBacked())
            .put("heap_growth", heapAfter - heapBefore));
    out.flush();
    return 0;
  }

  /** Heap bytes in use; called right after a full collection, the live set. */
  private static long heapUsed() {
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static double mib(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }
}
