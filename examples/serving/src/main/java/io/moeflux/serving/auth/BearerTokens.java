package io.moeflux.serving.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * The bearer tokens a serving process accepts. A token is compared with every accepted one in time
 * that does not depend on where they differ; tokens never appear in messages or {@link
 * #toString()}.
 */
public final class BearerTokens {
  /** Shorter tokens are refused: a token is meant to be guessed by nobody. */
  public static final int MIN_LENGTH = 16;

  /** Longer files are refused before they are read whole. */
  private static final long MAX_FILE_BYTES = 1024 * 1024;

  private final List<byte[]> tokens;

  private BearerTokens(List<byte[]> tokens) {
    this.tokens = tokens;
  }

  /**
   * These tokens.
   *
   * @throws IllegalArgumentException when there is none, or one is shorter than {@value
   *     #MIN_LENGTH} characters
   */
  public static BearerTokens of(Collection<String> tokens) {
    Objects.requireNonNull(tokens, "tokens");
    List<byte[]> accepted = new ArrayList<>();
    int line = 0;
    for (String token : tokens) {
      line++;
      if (token.length() < MIN_LENGTH) {
        throw new IllegalArgumentException(
            "token " + line + " has " + token.length() + " characters, at least " + MIN_LENGTH);
      }
      accepted.add(token.getBytes(StandardCharsets.UTF_8));
    }
    if (accepted.isEmpty()) {
      throw new IllegalArgumentException("no bearer token given");
    }
    return new BearerTokens(accepted);
  }

  /**
   * The tokens in {@code file}, one per line; blank lines and lines starting with {@code #} are
   * skipped, spaces around a token dropped.
   *
   * @throws IllegalArgumentException naming the file when it cannot be read, holds no token, or a
   *     token that is too short
   */
  public static BearerTokens fromFile(Path file) {
    Objects.requireNonNull(file, "file");
    List<String> lines;
    try {
      if (Files.size(file) > MAX_FILE_BYTES) {
        throw new IllegalArgumentException("token file " + file + " is over 1 MiB");
      }
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read token file " + file + ": " + e, e);
    }
    List<String> tokens = new ArrayList<>();
    for (String line : lines) {
      String token = line.strip();
      if (!token.isEmpty() && !token.startsWith("#")) {
        tokens.add(token);
      }
    }
    try {
      return of(tokens);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("token file " + file + ": " + e.getMessage(), e);
    }
  }

  /** Whether {@code token} is one of the accepted tokens. */
  public boolean accepts(CharSequence token) {
    byte[] given = token.toString().getBytes(StandardCharsets.UTF_8);
    boolean found = false;
    for (byte[] accepted : tokens) {
      // every token is compared, so the time says nothing about which one matched
      found |= MessageDigest.isEqual(accepted, given);
    }
    return found;
  }

  /** Never a token. */
  @Override
  public String toString() {
    return tokens.size() + " bearer token(s)";
  }
}
