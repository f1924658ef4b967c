package io.moeflux.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's architecture table names every package of the tree, in the module that holds it, and
 * nothing else: a package added, moved or removed without the README fails here. Read from the
 * repository (this module's base directory is {@code examples/cli}).
 */
class ReadmeArchitectureTest {
  private static final Path ROOT =
      Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).resolve("../..");
  private static final String HEADER = "| module | package | what lives there |";

  @Test
  void theArchitectureTableNamesEveryPackageInItsModule() throws IOException {
    assertThat(readmeTable()).isEqualTo(packagesOfTheTree());
  }

  /**
   * Package → module directory, for every package with a package-info in main code or a test-jar.
   */
  private static Map<String, String> packagesOfTheTree() throws IOException {
    Map<String, String> packages = new TreeMap<>();
    try (Stream<Path> files = Files.walk(ROOT)) {
      files
          .filter(file -> file.getFileName().toString().equals("package-info.java"))
          .map(ROOT::relativize)
          .map(Path::toString)
          .filter(file -> !file.contains("/target/"))
          .forEach(
              file -> {
                boolean main = file.contains("/src/main/java/");
                String marker = main ? "/src/main/java/" : "/src/test/java/";
                int at = file.indexOf(marker);
                String module = file.substring(0, at);
                String name =
                    file.substring(at + marker.length(), file.lastIndexOf('/')).replace('/', '.');
                if (main || publishedInTestJar(module, name)) {
                  packages.put(name, main ? module : module + " (test-jar)");
                }
              });
    }
    return packages;
  }

  /** Test packages other modules use: the transport contract kit. */
  private static boolean publishedInTestJar(String module, String name) {
    return module.equals("transport") && name.endsWith(".testkit");
  }

  /** Package → module, from the rows of the README's architecture table. */
  private static Map<String, String> readmeTable() {
    List<String> lines;
    try {
      lines = Files.readAllLines(ROOT.resolve("README.md"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int at = lines.indexOf(HEADER);
    assertThat(at).as("README has the table " + HEADER).isNotNegative();
    Map<String, String> rows = new TreeMap<>();
    for (int i = at + 2; i < lines.size() && lines.get(i).startsWith("|"); i++) {
      List<String> cells =
          Arrays.stream(lines.get(i).split("\\|"))
              .map(cell -> cell.strip().replace("`", ""))
              .toList();
      rows.put(cells.get(2), cells.get(1));
    }
    return rows;
  }
}
