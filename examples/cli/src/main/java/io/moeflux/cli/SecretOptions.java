package io.moeflux.cli;

import io.moeflux.transport.MeshSecret;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/**
 * Where the group's secret comes from: a file, never the command line itself (where {@code ps} and
 * shell histories would show it).
 */
final class SecretOptions {
  @Option(names = "--secret-file", defaultValue = "${env:MOEFLUX_SECRET_FILE}", paramLabel = "FILE")
  @Nullable Path secretFile;

  /** The secret in the file, or {@link MeshSecret#NONE} when none was given. */
  MeshSecret secret() {
    return secretFile == null ? MeshSecret.NONE : MeshSecret.fromFile(secretFile);
  }
}
