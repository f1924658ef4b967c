package io.moeflux.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The defaults that differ by command for the options commands share (the model every group command
 * runs), from {@code command-defaults.properties} beside this class: key {@code demo.hidden} is the
 * default of {@code --hidden} for {@code moeflux demo}. Usage help shows them as each command's
 * defaults. An option without an entry keeps the default its declaration gives.
 */
final class CommandDefaults implements IDefaultValueProvider {
  private static final String RESOURCE = "command-defaults.properties";

  private final Properties defaults = new Properties();

  CommandDefaults() {
    try (InputStream in = CommandDefaults.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the classpath");
      }
      defaults.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  @Override
  public @Nullable String defaultValue(ArgSpec arg) {
    if (!(arg instanceof OptionSpec option) || arg.command() == null) {
      return null;
    }
    String path = arg.command().qualifiedName(".");
    int root = path.indexOf('.');
    if (root < 0) {
      return null;
    }
    String name = option.longestName().replaceFirst("^-+", "");
    return defaults.getProperty(path.substring(root + 1) + "." + name);
  }
}
