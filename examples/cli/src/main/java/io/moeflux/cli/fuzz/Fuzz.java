package io.moeflux.cli.fuzz;

import io.moeflux.cli.client.ForwardClientExample;
import io.netty.buffer.ByteBufAllocator;
import io.rsocket.Payload;
import io.rsocket.RSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs one fuzz target and says whether the target came through. */
public final class Fuzz {
  /** What is attacked. */
  public enum Target {
    decoders,
    mesh,
    serve
  }

  /** The figures of a run, in the order they are printed, and the verdict. */
  public record Result(Map<String, Object> fields, boolean passed) {}

  /** Resident memory the huge inputs may add to the target's peak. */
  static final double HUGE_BUDGET_MB = 100;

  private static final int HIDDEN = 64;
  private static final int MAX_TOKENS = 8;
  private static final Pattern RSOCKET = Pattern.compile("rsocket://([^:]+):(\\d+)");
  private static final Pattern MESH = Pattern.compile("mesh tcp\\[([^:]+):(\\d+)");

  private Fuzz() {}

  /** Runs {@code target}; {@code progress} gets a line per phase. */
  public static Result run(
      Target target,
      long inputs,
      int connections,
      long hugeMib,
      long seed,
      Consumer<String> progress)
      throws Exception {
    if (target == Target.decoders) {
      Map<String, Object> fields = new DecoderFuzz().run(inputs, seed);
      boolean passed = (int) fields.get("crashes") == 0 && (long) fields.get("leaks") == 0;
      return new Result(fields, passed);
    }
    Path dir = Files.createTempDirectory("moeflux-fuzz");
    String token = "fuzz-" + Long.toHexString(new SecureRandom().nextLong()) + "-token";
    Path tokens = dir.resolve("tokens");
    Files.writeString(tokens, token + "\n");
    long started = System.nanoTime();
    try (TargetProcess serve =
        TargetProcess.start(
            dir,
            "256m",
            List.of(
                "serve",
                "--ranks",
                "2",
                "--port",
                "0",
                "--interval",
                "1000000",
                "--hidden",
                Integer.toString(HIDDEN),
                "--max-tokens",
                Integer.toString(MAX_TOKENS),
                "--auth-token-file",
                tokens.toString()))) {
      String line = serve.awaitLine("serving", Duration.ofMinutes(2));
      progress.accept("target: " + line);
      Matcher rsocket = RSOCKET.matcher(line);
      Matcher mesh = MESH.matcher(line);
      if (!rsocket.find() || !mesh.find()) {
        throw new IllegalStateException("cannot read the target's addresses from: " + line);
      }
      String host = rsocket.group(1);
      int port = Integer.parseInt(rsocket.group(2));
      RSocket client = ServeFuzz.client(host, port, token);
      Map<String, Object> fields = new LinkedHashMap<>();
      fields.put("target", target.name());
      GoldenForwards golden = new GoldenForwards(32, HIDDEN, MAX_TOKENS, seed);
      try {
        golden.record(client);
        long warm = golden.mismatches(client);
        double peakBefore = serve.peakRssMb();
        progress.accept("golden outputs recorded; target peak RSS " + peakBefore + " MB");
        Attack attack =
            target == Target.mesh
                ? new MeshAttack(new MeshFuzz(mesh.group(1), Integer.parseInt(mesh.group(2))))
                : new ServeAttack(new ServeFuzz(host, port, token, HIDDEN));
        attack.run(inputs, connections, seed);
        progress.accept("attack done: " + attack.sent() + " inputs");
        double peakAfterInputs = serve.peakRssMb();
        if (hugeMib > 0) {
          attack.huge(hugeMib);
          progress.accept("huge inputs done: " + hugeMib + " MiB");
        }
        double peakAfter = serve.peakRssMb();
        long mismatches = warm + golden.mismatches(client);
        boolean status = answersStatus(client);
        boolean alive = serve.isAlive();
        fields.put("inputs", attack.sent());
        fields.put("connections", Math.min(connections, inputs));
        fields.putAll(attack.figures());
        fields.put("golden_requests", 2 * golden.requests());
        fields.put("mismatches", mismatches);
        fields.put("status_answered", status);
        fields.put("target_alive", alive);
        fields.put("rss_peak_mb_before", peakBefore);
        fields.put("rss_peak_mb_after_inputs", peakAfterInputs);
        fields.put("huge_mib", hugeMib);
        fields.put("rss_peak_mb_after", peakAfter);
        fields.put("rss_mb_now", serve.rssMb());
        client.dispose();
        serve.close();
        fields.put("warn_lines", serve.logLines("WARN"));
        fields.put("log_lines", serve.logLineCount());
        fields.put("leaks", serve.leakReports());
        fields.put("seconds", Math.round((System.nanoTime() - started) / 1e8) / 10.0);
        boolean passed =
            mismatches == 0
                && status
                && alive
                && serve.leakReports() == 0
                && (hugeMib == 0 || peakAfter - peakBefore <= HUGE_BUDGET_MB);
        return new Result(fields, passed);
      } finally {
        client.dispose();
      }
    }
  }

  /** One target's attack, as {@link #run} drives it. */
  private interface Attack {
    void run(long inputs, int connections, long seed) throws Exception;

    void huge(long mib) throws Exception;

    long sent();

    Map<String, Object> figures();
  }

  private record MeshAttack(MeshFuzz fuzz) implements Attack {
    @Override
    public void run(long inputs, int connections, long seed) throws Exception {
      fuzz.attack(inputs, connections, seed);
    }

    @Override
    public void huge(long mib) throws Exception {
      fuzz.huge(mib);
    }

    @Override
    public long sent() {
      return fuzz.written();
    }

    @Override
    public Map<String, Object> figures() {
      Map<String, Object> figures = new LinkedHashMap<>();
      figures.put("closed_by_target", fuzz.closedByRank());
      figures.put("huge_inputs", fuzz.hugeWritten());
      return figures;
    }
  }

  private record ServeAttack(ServeFuzz fuzz) implements Attack {
    @Override
    public void run(long inputs, int connections, long seed) throws Exception {
      fuzz.attack(inputs, connections, seed);
    }

    @Override
    public void huge(long mib) {
      fuzz.huge(mib);
    }

    @Override
    public long sent() {
      return fuzz.processed();
    }

    @Override
    public Map<String, Object> figures() {
      Map<String, Object> figures = new LinkedHashMap<>();
      figures.put("sent", fuzz.sent());
      figures.put("answered", fuzz.answered());
      figures.put("refused", fuzz.refused());
      figures.put("huge_inputs", fuzz.hugeSent());
      figures.put("huge_mib_offered", fuzz.hugeBytes() / (1024 * 1024));
      return figures;
    }
  }

  private static boolean answersStatus(RSocket client) {
    Payload answer =
        client
            .requestResponse(
                ForwardClientExample.routed("moe.status", ByteBufAllocator.DEFAULT.buffer(0)))
            .block(Duration.ofSeconds(30));
    if (answer == null) {
      return false;
    }
    try {
      return answer.getDataUtf8().contains("ranks");
    } finally {
      answer.release();
    }
  }
}
