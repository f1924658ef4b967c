package io.moeflux.cli.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * This process's memory as Linux reports it in {@code /proc/self/status}: {@code VmRSS} (resident
 * now), {@code VmHWM} (the resident peak), and the resident split into {@code RssAnon} (heap and
 * other private memory) and {@code RssFile} (file pages mapped right now), in bytes.
 */
public record ResidentMemory(long rss, long peak, long anonymous, long fileBacked) {
  private static final Path STATUS = Path.of("/proc/self/status");

  /** Whether this system has {@code /proc/self/status} (Linux). */
  public static boolean available() {
    return Files.isReadable(STATUS);
  }

  /**
   * Reads {@code /proc/self/status} now.
   *
   * @throws IllegalStateException when it is not there (not Linux) or lacks a field
   */
  public static ResidentMemory now() {
    List<String> lines;
    try {
      lines = Files.readAllLines(STATUS);
    } catch (IOException e) {
      throw new IllegalStateException(
          STATUS + " cannot be read (resident memory is measured on Linux only)", e);
    }
    return parse(lines);
  }

  /** Parses the lines of a {@code /proc/<pid>/status} file. */
  public static ResidentMemory parse(List<String> lines) {
    Map<String, Long> kib = new LinkedHashMap<>();
    for (String line : lines) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String value = line.substring(colon + 1).trim();
      if (value.endsWith(" kB")) {
        kib.put(line.substring(0, colon), Long.parseLong(value.substring(0, value.length() - 3)));
      }
    }
    return new ResidentMemory(
        field(kib, "VmRSS"), field(kib, "VmHWM"), field(kib, "RssAnon"), field(kib, "RssFile"));
  }

  private static long field(Map<String, Long> kib, String name) {
    Long value = kib.get(name);
    if (value == null) {
      throw new IllegalStateException("/proc status has no " + name + " line");
    }
    return value * 1024;
  }
}
