package io.moeflux.cli;

import io.moeflux.cli.fuzz.Fuzz;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Random and mutated inputs against the decoders, a live rank's mesh server, or a live serve. */
@Command(
    name = "fuzz",
    mixinStandardHelpOptions = true,
    description = {
      "decoders: random and mutated frames to the frame validator and every decoder, in process.",
      "mesh: random and mutated SETUPs and frames to a live rank (a serve group of 2 ranks in its",
      "own JVM) from connections without the secret. serve: random and mutated route payloads to",
      "a live serve from an authenticated client. After a run the target must still answer, with",
      "bitwise the outputs it gave before, and leak nothing; exit 0 only then."
    })
final class FuzzCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--target", required = true, description = "decoders, mesh or serve.")
  Fuzz.Target target;

  @Option(names = "--inputs", description = "Inputs to send (default: ${DEFAULT-VALUE}).")
  long inputs = 10_000;

  @Option(
      names = "--connections",
      description = "Connections for mesh and serve, at most (default: ${DEFAULT-VALUE}).")
  int connections = 1000;

  @Option(
      names = "--huge-mib",
      description =
          "Then send this many MiB in large inputs (mesh, serve) and report the target's peak"
              + " resident memory before and after (default: ${DEFAULT-VALUE}).")
  long hugeMib = 0;

  @Option(names = "--seed", description = "Seed of the inputs (default: ${DEFAULT-VALUE}).")
  long seed = 1;

  @Override
  public Integer call() throws Exception {
    if (inputs < 1 || connections < 1 || hugeMib < 0) {
      throw new IllegalArgumentException(
          "--inputs and --connections must be >= 1 and --huge-mib >= 0");
    }
    PrintWriter out = spec.commandLine().getOut();
    Fuzz.Result result =
        Fuzz.run(
            target,
            inputs,
            connections,
            hugeMib,
            seed,
            line -> {
              out.println(line);
              out.flush();
            });
    JsonLine json = new JsonLine();
    for (Map.Entry<String, Object> field : result.fields().entrySet()) {
      json.put(field.getKey(), field.getValue());
    }
    json.put("passed", result.passed());
    out.println(json);
    out.flush();
    return result.passed() ? 0 : 1;
  }
}
