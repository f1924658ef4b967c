package io.moeflux.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.moeflux.cli.bench.Percentiles;
import io.moeflux.cli.fuzz.TargetProcess;
import io.moeflux.cli.serve.ServeClient;
import io.moeflux.cli.serve.ServingRanks;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moeflux bench serve}: W serving ranks as separate processes on loopback ({@code serve
 * --rank r --check}), clients sending {@code moe.forward} to some ranks at different rates and none
 * to the others; per rank, requests, p50/p99 latency and tokens/s, with the DP metadata sync
 * skipped ({@code --role decode}) and on ({@code --role mixed}), at each load level; each rank's
 * steps and {@code --check} mismatches from its {@code moe.status}. Optionally, after the last
 * run's load: each process's CPU over idle seconds, and a {@code kill -9} of one rank while the
 * clients of the others keep sending.
 */
@Command(name = "serve", mixinStandardHelpOptions = true)
final class ServeBenchCommand implements Callable<Integer> {
  private static final int JIT_QUIET_SECONDS = 10;

  @Spec CommandSpec spec;

  @Option(names = "--world")
  int world = 4;

  @Option(names = "--rates", split = ",")
  List<Integer> rates = List.of(40, 20, 10, 0);

  @Option(names = "--levels", split = ",")
  List<Integer> levels = List.of(1, 3);

  @Option(names = "--sync", split = ",")
  List<String> syncModes = List.of("skip", "on");

  @Option(names = "--seconds")
  int seconds = 10;

  @Option(names = "--warmup")
  int warmup = 3;

  @Option(names = "--tokens")
  int tokens = 8;

  @Option(names = "--peer-timeout")
  int peerTimeout = 4;

  @Option(names = "--interval")
  int interval = 100;

  @Option(names = "--heap")
  String heap = "192m";

  @Option(names = "--idle-seconds")
  int idleSeconds = 0;

  /**
   * Before idle CPU is measured: at least this long, and then until the JIT compilers of every
   * process have been quiet for {@value #JIT_QUIET_SECONDS} s (at most {@code
   * --idle-settle-max-seconds}). The compilers keep working for a minute or more after the load
   * (code the load made hot, then the keep-alive paths, run once a second, reaching their
   * thresholds): a one-off cost of having served, not of being idle. The settle time is reported.
   */
  @Option(names = "--idle-settle-seconds")
  int idleSettleSeconds = 30;

  @Option(names = "--idle-settle-max-seconds")
  int idleSettleMaxSeconds = 180;

  @Option(names = "--kill-rank")
  @Nullable Integer killRank;

  private final List<Map<String, Object>> runs = new ArrayList<>();
  private final JsonLine json = new JsonLine();

  @Override
  public Integer call() throws Exception {
    if (rates.size() != world) {
      throw new IllegalArgumentException(
          "--rates gives " + rates.size() + " rates for a world of " + world);
    }
    for (String sync : syncModes) {
      if (!sync.equals("skip") && !sync.equals("on")) {
        throw new IllegalArgumentException("--sync takes skip and on, got " + sync);
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    out.printf(
        "moeflux bench serve: %d serving ranks as processes on loopback, clients at %s requests/s"
            + " (x %s), up to %d tokens each, %d s per run, sync %s%n",
        world, rates, levels, tokens, seconds, syncModes);
    out.flush();
    Path dir = Files.createTempDirectory("moeflux-bench-serve");
    boolean passed = true;
    for (int m = 0; m < syncModes.size(); m++) {
      for (int l = 0; l < levels.size(); l++) {
        boolean last = m == syncModes.size() - 1 && l == levels.size() - 1;
        passed &=
            run(
                dir.resolve(syncModes.get(m) + "-" + levels.get(l)),
                syncModes.get(m),
                levels.get(l),
                last);
      }
    }
    json.put("world", world)
        .put("seconds", seconds)
        .put("kernel", runs.isEmpty() ? null : runs.get(0).get("kernel"))
        .put("runs", runs);
    if (syncModes.contains("skip") && syncModes.contains("on")) {
      json.put("on_over_skip", ratios(out));
    }
    json.put("passed", passed);
    out.println(json);
    out.flush();
    return passed ? 0 : 1;
  }

  private boolean run(Path dir, String sync, int level, boolean last) throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    List<String> options =
        List.of(
            "--role",
            sync.equals("skip") ? "decode" : "mixed",
            "--check",
            "--peer-timeout",
            Integer.toString(peerTimeout),
            "--interval",
            Integer.toString(interval));
    List<String> jvm =
        List.of(
            "--add-modules",
            "jdk.incubator.vector",
            "-Xms" + heap,
            "-Xmx" + heap,
            "-XX:+UseSerialGC");
    Map<String, Object> result = new LinkedHashMap<>();
    boolean passed = true;
    try (ServingRanks ranks = new ServingRanks(dir, world, jvm, options)) {
      List<ServeClient> clients = new ArrayList<>();
      try {
        for (int r = 0; r < world; r++) {
          clients.add(new ServeClient(r, ranks.clientPort(r), tokens, 1000 + r));
        }
        for (int r = 0; r < world; r++) {
          if (rates.get(r) > 0) {
            clients.get(r).start(rates.get(r) * level);
          }
        }
        Thread.sleep(warmup * 1000L);
        clients.forEach(ServeClient::reset);
        Thread.sleep(seconds * 1000L);
        clients.forEach(ServeClient::stop);
        awaitAnswers(clients, 30);
        List<Map<String, Object>> perRank = new ArrayList<>();
        for (int r = 0; r < world; r++) {
          ServeClient client = clients.get(r);
          JsonNode status = client.status();
          Percentiles latency = client.latencies();
          Map<String, Object> rank = new LinkedHashMap<>();
          rank.put("rank", r);
          rank.put("rate", rates.get(r) * level);
          rank.put("requests", client.sent());
          rank.put("answered", client.answered());
          rank.put("refused", client.refused());
          rank.put("p50_ms", millis(latency.at(50)));
          rank.put("p99_ms", millis(latency.at(99)));
          rank.put("tokens_per_s", Math.round(client.tokensPerSecond()));
          rank.put("steps", status.get("step").asLong());
          rank.put("requests_served", status.get("requests_served").asLong());
          rank.put("check_steps", status.get("check_steps").asLong());
          rank.put("check_mismatches", status.get("check_mismatches").asLong());
          perRank.add(rank);
          passed &= client.refused() == 0 && status.get("check_mismatches").asLong() == 0;
          out.printf(
              "sync %s, load x%d: rank %d at %d req/s: %d requests, %d answered, p50 %.2f ms, p99"
                  + " %.2f ms, %d tokens/s; %d steps, %d served, %d of %d steps checked: %d"
                  + " mismatches%n",
              sync,
              level,
              r,
              rates.get(r) * level,
              client.sent(),
              client.answered(),
              millis(latency.at(50)),
              millis(latency.at(99)),
              Math.round(client.tokensPerSecond()),
              status.get("step").asLong(),
              status.get("requests_served").asLong(),
              status.get("check_steps").asLong(),
              status.get("step").asLong(),
              status.get("check_mismatches").asLong());
          out.flush();
        }
        result.put("sync", sync);
        result.put("level", level);
        result.put("kernel", clients.get(0).status().get("kernel").asText());
        result.put("ranks", perRank);
        if (last && idleSeconds > 0) {
          result.put("idle_cpu_pct", idleCpu(ranks, clients));
        }
        if (last && killRank != null) {
          Map<String, Object> kill = kill(ranks, clients, level);
          passed &= Boolean.TRUE.equals(kill.get("passed"));
          result.put("kill", kill);
        }
      } finally {
        clients.forEach(ServeClient::dispose);
      }
    }
    runs.add(result);
    return passed;
  }

  /**
   * Per load level and rank with clients: p50 and p99 latency with the sync on over the same with
   * it skipped, both measured in this invocation.
   */
  @SuppressWarnings("unchecked")
  private List<Map<String, Object>> ratios(PrintWriter out) {
    List<Map<String, Object>> ratios = new ArrayList<>();
    for (int level : levels) {
      Map<String, Object> skip = runOf("skip", level);
      Map<String, Object> on = runOf("on", level);
      List<Map<String, Object>> skipRanks = (List<Map<String, Object>>) skip.get("ranks");
      List<Map<String, Object>> onRanks = (List<Map<String, Object>>) on.get("ranks");
      for (int r = 0; r < world; r++) {
        if (rates.get(r) == 0) {
          continue;
        }
        Map<String, Object> ratio = new LinkedHashMap<>();
        ratio.put("level", level);
        ratio.put("rank", r);
        for (String p : List.of("p50_ms", "p99_ms")) {
          double a = (Double) onRanks.get(r).get(p);
          double b = (Double) skipRanks.get(r).get(p);
          ratio.put(p.replace("_ms", ""), b == 0 ? 0 : Math.round(a / b * 100) / 100.0);
        }
        out.printf(
            "load x%d, rank %d: sync on / skipped: p50 %.2f, p99 %.2f%n",
            level, r, ratio.get("p50"), ratio.get("p99"));
        ratios.add(ratio);
      }
    }
    out.flush();
    return ratios;
  }

  private Map<String, Object> runOf(String sync, int level) {
    return runs.stream()
        .filter(
            run -> sync.equals(run.get("sync")) && Integer.valueOf(level).equals(run.get("level")))
        .findFirst()
        .orElseThrow();
  }

  /** Each process's CPU time (user + system) over --idle-seconds with no client sending. */
  private List<Double> idleCpu(ServingRanks ranks, List<ServeClient> clients)
      throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    // the check runs behind the steps: idle starts once every rank has checked every step
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline
        && clients.stream()
            .map(ServeClient::status)
            .anyMatch(s -> s.get("check_steps").asLong() < s.get("step").asLong())) {
      Thread.sleep(200);
    }
    // and the JIT compiles what the load made hot, then the keep-alive paths, for a minute or more:
    // a tail of the load, not a cost of being idle (the busiest threads are printed, to tell the
    // two
    // apart)
    long settleStarted = System.nanoTime();
    Thread.sleep(TimeUnit.SECONDS.toMillis(idleSettleSeconds));
    awaitQuietCompilers(ranks, settleStarted + TimeUnit.SECONDS.toNanos(idleSettleMaxSeconds));
    out.printf(
        "idle: settled %.0f s after the last checked step (JIT compilers quiet for %d s)%n",
        (System.nanoTime() - settleStarted) / 1e9, JIT_QUIET_SECONDS);
    long[] before = new long[world];
    List<Map<String, Long>> threadsBefore = new ArrayList<>();
    for (int r = 0; r < world; r++) {
      before[r] = ranks.process(r).cpuTicks();
      threadsBefore.add(ranks.process(r).threadCpuTicks());
    }
    long started = System.nanoTime();
    Thread.sleep(idleSeconds * 1000L);
    double wall = (System.nanoTime() - started) / 1e9;
    List<Double> percent = new ArrayList<>();
    for (int r = 0; r < world; r++) {
      long ticks = ranks.process(r).cpuTicks() - before[r];
      // clock ticks are 1/100 s on Linux
      double pct = Math.round(ticks / 100.0 / wall * 100 * 100) / 100.0;
      percent.add(pct);
      out.printf(
          "idle: rank %d (pid %d) used %d ticks (%.2f s) of CPU in %.1f s: %.2f %% of a core;"
              + " busiest threads: %s%n",
          r,
          ranks.process(r).pid(),
          ticks,
          ticks / 100.0,
          wall,
          pct,
          busiest(threadsBefore.get(r), ranks.process(r).threadCpuTicks()));
    }
    out.flush();
    return percent;
  }

  /**
   * Waits until no JIT compiler thread of any rank process used CPU for {@value #JIT_QUIET_SECONDS}
   * s, or until {@code deadline}.
   */
  private void awaitQuietCompilers(ServingRanks ranks, long deadline) throws InterruptedException {
    long ticks = compilerTicks(ranks);
    long quietSince = System.nanoTime();
    while (System.nanoTime() - quietSince < TimeUnit.SECONDS.toNanos(JIT_QUIET_SECONDS)
        && System.nanoTime() < deadline) {
      Thread.sleep(500);
      long now = compilerTicks(ranks);
      if (now != ticks) {
        ticks = now;
        quietSince = System.nanoTime();
      }
    }
  }

  private long compilerTicks(ServingRanks ranks) {
    long total = 0;
    for (int r = 0; r < world; r++) {
      for (Map.Entry<String, Long> thread : ranks.process(r).threadCpuTicks().entrySet()) {
        if (thread.getKey().contains("CompilerThre")) {
          total += thread.getValue();
        }
      }
    }
    return total;
  }

  /** The three threads that used the most CPU between two readings, with their ticks. */
  private static String busiest(Map<String, Long> before, Map<String, Long> after) {
    return after.entrySet().stream()
        .map(e -> Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
        .filter(e -> e.getValue() > 0)
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(3)
        .map(e -> e.getKey() + " " + e.getValue())
        .toList()
        .toString();
  }

  /**
   * Kills --kill-rank (SIGKILL) while the clients of the other ranks send at the run's rates; each
   * of them must get an error naming the killed rank within twice the peer timeout, and no request
   * may be left unanswered.
   */
  private Map<String, Object> kill(ServingRanks ranks, List<ServeClient> clients, int level)
      throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    int victim = killRank;
    List<ServeClient> survivors = new ArrayList<>();
    for (int r = 0; r < world; r++) {
      if (r != victim) {
        ServeClient client = clients.get(r);
        client.start(Math.max(1, rates.get(r)) * level);
        survivors.add(client);
      }
    }
    Thread.sleep(2000);
    TargetProcess process = ranks.process(victim);
    long killed = System.nanoTime();
    process.kill();
    long bound = TimeUnit.SECONDS.toNanos(2L * peerTimeout);
    Thread.sleep(TimeUnit.NANOSECONDS.toMillis(bound) + 1000);
    survivors.forEach(ServeClient::stop);
    awaitAnswers(survivors, 10);
    Map<String, Object> kill = new LinkedHashMap<>();
    kill.put("rank", victim);
    kill.put("bound_ms", TimeUnit.NANOSECONDS.toMillis(bound));
    List<Map<String, Object>> seen = new ArrayList<>();
    boolean passed = true;
    for (int r = 0, s = 0; r < world; r++) {
      if (r == victim) {
        continue;
      }
      ServeClient client = survivors.get(s++);
      String error = client.firstRefusal();
      long after = client.firstRefusalNanos() == 0 ? -1 : client.firstRefusalNanos() - killed;
      boolean names = error != null && error.contains("rank " + victim);
      boolean inTime = after >= 0 && after <= bound;
      String state = client.status().get("state").asText();
      Map<String, Object> rank = new LinkedHashMap<>();
      rank.put("rank", r);
      rank.put("first_error_ms", after < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(after));
      rank.put("names_killed_rank", names);
      rank.put("unanswered", client.outstanding());
      rank.put("state", state);
      rank.put("error", error);
      seen.add(rank);
      passed &= names && inTime && client.outstanding() == 0 && state.equals("failed");
      out.printf(
          "kill -9 rank %d: rank %d's client got its first error after %d ms (bound %d ms), %d"
              + " requests unanswered, state %s: %s%n",
          victim,
          r,
          after < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(after),
          TimeUnit.NANOSECONDS.toMillis(bound),
          client.outstanding(),
          state,
          error);
    }
    out.flush();
    kill.put("ranks", seen);
    kill.put("passed", passed);
    return kill;
  }

  private static void awaitAnswers(List<ServeClient> clients, int seconds)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (clients.stream().anyMatch(c -> c.outstanding() > 0) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }

  private static double millis(long nanos) {
    return Math.round(nanos / 1e4) / 100.0;
  }
}
