package io.moeflux.cli;

import io.moeflux.pipeline.checkpoint.CheckpointException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code moeflux} command-line tool. The help text of every command and option is in {@code
 * messages.properties} (this command's resource bundle, which the subcommands share); what a
 * command's shared options default to, where it differs by command, is in {@code
 * command-defaults.properties} ({@link CommandDefaults}).
 */
@Command(
    name = "moeflux",
    mixinStandardHelpOptions = true,
    resourceBundle = "io.moeflux.cli.messages",
    version = "moeflux 0.1.0",
    subcommands = {
      DemoCommand.class,
      VerifyCommand.class,
      RankCommand.class,
      ServeCommand.class,
      RebalanceCommand.class,
      BenchCommand.class,
      GenerateCheckpointCommand.class,
      ForwardCommand.class,
      MemoryCommand.class,
      FuzzCommand.class,
      SoakCommand.class
    })
public final class MoefluxCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  public static void main(String[] args) {
    FatalErrors.install(System.err, code -> Runtime.getRuntime().halt(code));
    System.exit(commandLine().execute(args));
  }

  /**
   * The tool with each command's defaults ({@link CommandDefaults}) and its error handling: bad
   * options exit 2 with a one-line message.
   */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new MoefluxCommand());
    cli.setDefaultValueProvider(new CommandDefaults());
    cli.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          commandLine
              .getErr()
              .println("moeflux " + commandLine.getCommandName() + ": " + message(ex));
          return ex instanceof IllegalArgumentException || ex instanceof CheckpointException
              ? 2
              : 1;
        });
    return cli;
  }

  static String message(Throwable ex) {
    Throwable root = ex;
    while (root.getCause() != null
        && (root.getMessage() == null || root instanceof UncheckedIOException)) {
      root = root.getCause();
    }
    // file-system errors carry only the path as their message; say what went wrong with it
    if (root instanceof NoSuchFileException missing) {
      return "no such file or directory: " + missing.getFile();
    }
    if (root instanceof AccessDeniedException denied) {
      return "permission denied: " + denied.getFile();
    }
    if (root instanceof FileAlreadyExistsException exists) {
      return "already exists: " + exists.getFile();
    }
    return root.getMessage() != null ? root.getMessage() : root.toString();
  }
}
