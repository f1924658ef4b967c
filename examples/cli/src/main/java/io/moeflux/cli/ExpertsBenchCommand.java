package io.moeflux.cli;

import io.moeflux.cli.bench.ExpertStep;
import io.moeflux.cli.bench.Percentiles;
import io.moeflux.cli.bench.UniformPicks;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.kernel.ExpertKernel;
import io.moeflux.pipeline.kernel.ExpertKernels;
import io.moeflux.pipeline.model.ExpertWorkers;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * One rank's expert math alone, the same shapes and routing as the torch peer ({@code
 * examples/baseline/run-experts-bench.sh}): every token picks {@code --topk} distinct experts
 * uniformly at random ({@link UniformPicks}), and a timed step gathers each expert's rows, runs its
 * SwiGLU and adds the weighted outputs back into the tokens ({@link ExpertStep}).
 */
@Command(name = "experts", mixinStandardHelpOptions = true)
final class ExpertsBenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--hidden")
  int hidden = 1024;

  @Option(names = "--intermediate")
  int intermediate = 512;

  @Option(names = "--num-experts")
  int experts = 8;

  @Option(names = "--tokens")
  int tokens = 128;

  @Option(names = "--topk")
  int topK = 8;

  @Option(names = "--dtype")
  String dtype = "f32";

  @Option(names = "--threads")
  int threads = 1;

  @Option(names = "--steps")
  int steps = 30;

  @Option(names = "--warmup")
  int warmup = 10;

  @Option(names = "--seed")
  long seed = 1;

  @Option(names = "--json")
  boolean jsonOnly;

  @Override
  public Integer call() {
    if (hidden < 1 || intermediate < 1 || steps < 1 || warmup < 0 || threads < 1) {
      throw new IllegalArgumentException(
          "--hidden, --intermediate, --steps and --threads must be >= 1, --warmup >= 0");
    }
    TensorDtype weights = weightDtype(dtype);
    ExpertKernel kernel = ExpertKernels.preferred();
    UniformPicks picks = new UniformPicks(seed, tokens, experts, topK);
    ExpertStep step = new ExpertStep(kernel, weights, hidden, intermediate, experts, picks, seed);
    long[] nanos = new long[steps];
    try (ExpertWorkers workers = ExpertWorkers.start("moeflux-bench-experts", threads)) {
      for (int s = 0; s < warmup + steps; s++) {
        long start = System.nanoTime();
        step.run(workers);
        long took = System.nanoTime() - start;
        if (s >= warmup) {
          nanos[s - warmup] = took;
        }
      }
    }
    Percentiles p = new Percentiles(nanos, steps);
    double seconds = p.at(50) / 1e9;
    double flops = 2.0 * 3 * hidden * intermediate * tokens * topK;
    double gflops = flops / seconds / 1e9;
    double weightBytesPerSecond = step.activeWeightBytes() / seconds;
    JsonLine json =
        new JsonLine()
            .put("bench", "experts")
            .put("kernel", kernel.name())
            .put("dtype", dtype.toLowerCase(Locale.ROOT))
            .put("hidden", hidden)
            .put("intermediate", intermediate)
            .put("num_experts", experts)
            .put("tokens", tokens)
            .put("topk", topK)
            .put("threads", threads)
            .put("active_experts", step.activeExperts())
            .put("routing_checksum", picks.checksum())
            .put("steps", steps)
            .put("step_p50_us", p.at(50) / 1000)
            .put("step_p99_us", p.at(99) / 1000)
            .put("gflops", Math.round(gflops * 100) / 100.0)
            .put("weight_bytes_per_s", Math.round(weightBytesPerSecond));
    PrintWriter out = spec.commandLine().getOut();
    if (!jsonOnly) {
      out.printf(
          Locale.ROOT,
          "%s, %s weights, %d tokens x top-%d of %d experts (hidden %d, intermediate %d), %d"
              + " thread(s): step p50 %d us, %.1f GFLOP/s, %.2f GB/s of weights%n",
          kernel.name(),
          json.get("dtype"),
          tokens,
          topK,
          experts,
          hidden,
          intermediate,
          threads,
          p.at(50) / 1000,
          gflops,
          weightBytesPerSecond / 1e9);
    }
    out.println(json);
    out.flush();
    return 0;
  }

  private static TensorDtype weightDtype(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "f32" -> TensorDtype.F32;
      case "bf16" -> TensorDtype.BF16;
      case "f16" -> TensorDtype.F16;
      default ->
          throw new IllegalArgumentException("--dtype is f32, bf16 or f16, not '" + name + "'");
    };
  }
}
