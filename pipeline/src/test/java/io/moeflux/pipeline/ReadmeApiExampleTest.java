package io.moeflux.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The README's first API example is the body of {@link
 * MoeGroupReferenceTest#aStreamOfBatchesTakesAFewLines}, line for line, so that the example
 * compiles and runs against the API it shows.
 */
class ReadmeApiExampleTest {
  private static final Path MODULE =
      Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
  private static final String METHOD = "void aStreamOfBatchesTakesAFewLines() {";

  @Test
  void theReadmeApiExampleIsTheTestThatRunsIt() throws IOException {
    assertThat(readmeApiExample()).isEqualTo(testBody());
  }

  /** The first java block after the README's "## API" heading. */
  private static String readmeApiExample() throws IOException {
    String readme = Files.readString(MODULE.resolve("../README.md"));
    int api = readme.indexOf("\n## API\n");
    assertThat(api).as("README has an API section").isNotNegative();
    int start = readme.indexOf("```java\n", api) + "```java\n".length();
    return readme.substring(start, readme.indexOf("```", start));
  }

  /** The test method's body, its indentation taken off. */
  private static String testBody() throws IOException {
    List<String> lines =
        Files.readAllLines(
            MODULE.resolve("src/test/java/io/moeflux/pipeline/MoeGroupReferenceTest.java"));
    int from = lines.stream().map(String::strip).toList().indexOf(METHOD) + 1;
    assertThat(from).as("MoeGroupReferenceTest has " + METHOD).isPositive();
    int to = lines.subList(from, lines.size()).indexOf("  }") + from;
    return lines.subList(from, to).stream()
        .map(line -> line.length() >= 4 ? line.substring(4) : line.strip())
        .collect(Collectors.joining("\n", "", "\n"));
  }
}
