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
@Command(name = "fuzz", mixinStandardHelpOptions = true)
final class FuzzCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--target", required = true)
  Fuzz.Target target;

  @Option(names = "--inputs")
  long inputs = 10_000;

  @Option(names = "--connections")
  int connections = 1000;

  @Option(names = "--huge-mib")
  long hugeMib = 0;

  @Option(names = "--seed")
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
